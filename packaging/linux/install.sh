#!/bin/sh
# Installs the songcheck agent from the offline bundle as a systemd service (Debian, Ubuntu, Raspberry Pi OS).
#
#   sudo sh linux/install.sh --collector https://songcheck.example.vn --code K7QM-3XTP-9HWD
#
# Run it again with a newer bundle to upgrade: the identity and queued results are kept, no code needed.
# --root DIR installs into another root file system (an SD card image mounted at DIR, or a test directory):
# every path is taken under DIR, the user is created with `useradd --root`, the unit enabled with
# `systemctl --root`, and nothing is started.
set -eu

PREFIX=/opt/songcheck
ROOT=
COLLECTOR=
CODE=
START=yes
NODE=${NODE:-node}

usage() {
  cat <<USAGE
usage: install.sh [--collector URL --code CODE] [--prefix DIR] [--root DIR] [--no-start] [--node PATH]
  --collector, --code  enroll this computer (needed the first time; the code is printed for the site)
  --prefix DIR         where the agent file goes (default /opt/songcheck)
  --root DIR           install into the root file system mounted at DIR (nothing is started)
  --no-start           enable at boot but do not start now
  --node PATH          the node program (default: node on PATH; version 20 or newer)
USAGE
}

die() { echo "install.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --collector) COLLECTOR=${2:?--collector needs a URL}; shift 2 ;;
    --code) CODE=${2:?--code needs the enrollment code}; shift 2 ;;
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    --no-start) START=no; shift ;;
    --node) NODE=${2:?--node needs a path}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

[ "$(id -u)" = 0 ] || die "run as root (sudo sh $0 ...)"
if [ -n "$COLLECTOR" ] && [ -z "$CODE" ]; then die "--collector needs --code"; fi
if [ -z "$COLLECTOR" ] && [ -n "$CODE" ]; then die "--code needs --collector"; fi
case "$PREFIX" in /*) ;; *) die "--prefix must be an absolute path" ;; esac
if [ -n "$ROOT" ]; then
  [ -d "$ROOT" ] || die "--root $ROOT is not a directory"
  ROOT=$(cd "$ROOT" && pwd)
  [ "$ROOT" = / ] && ROOT=
  START=no
fi

BUNDLE=$(cd "$(dirname "$0")/.." && pwd)
AGENT="$BUNDLE/songcheck-agent.mjs"
[ -f "$AGENT" ] || die "songcheck-agent.mjs not found in $BUNDLE (run this script from the unpacked bundle)"

# 1. The bundle is intact (a USB stick can corrupt a file).
if [ -f "$BUNDLE/SHA256SUMS" ] && command -v sha256sum >/dev/null 2>&1; then
  (cd "$BUNDLE" && sha256sum --check --quiet SHA256SUMS) || die "the bundle is damaged (checksums do not match): copy it again"
  echo "bundle checksums: ok"
fi

# 2. Node 20 or newer.
command -v "$NODE" >/dev/null 2>&1 || die "node is not installed: install Node.js 20 or newer (Debian 13 / Raspberry Pi OS: sudo apt-get install nodejs; otherwise NodeSource or nodejs.org)"
"$NODE" -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' || die "node $("$NODE" --version) is too old: the agent needs Node.js 20 or newer"
NODE_PATH_ABS=$(command -v "$NODE")

# 3. The service user: a system account with no login and no home of its own.
if ! grep -q '^songcheck:' "$ROOT/etc/passwd"; then
  if [ -n "$ROOT" ]; then
    useradd --root "$ROOT" --system --user-group --home-dir /var/lib/songcheck --no-create-home --shell /usr/sbin/nologin songcheck
  else
    useradd --system --user-group --home-dir /var/lib/songcheck --no-create-home --shell /usr/sbin/nologin songcheck
  fi
  echo "created system user songcheck"
fi
SC_UID=$(awk -F: '$1 == "songcheck" { print $3 }' "$ROOT/etc/passwd")
SC_GID=$(awk -F: '$1 == "songcheck" { print $4 }' "$ROOT/etc/passwd")
[ -n "$SC_UID" ] && [ -n "$SC_GID" ] || die "could not read the songcheck user from $ROOT/etc/passwd"

# 4. Files. The agent file is replaced atomically (a copy then a rename) so a running agent is not cut short.
install -d -m 0755 "$ROOT$PREFIX"
install -m 0644 "$AGENT" "$ROOT$PREFIX/songcheck-agent.mjs.new"
mv -f "$ROOT$PREFIX/songcheck-agent.mjs.new" "$ROOT$PREFIX/songcheck-agent.mjs"
[ -f "$BUNDLE/songcheck-agent.sample.yaml" ] && install -m 0644 "$BUNDLE/songcheck-agent.sample.yaml" "$ROOT$PREFIX/songcheck-agent.sample.yaml"
[ -f "$BUNDLE/README-INSTALL.md" ] && install -m 0644 "$BUNDLE/README-INSTALL.md" "$ROOT$PREFIX/README-INSTALL.md"
install -m 0755 "$BUNDLE/linux/uninstall.sh" "$ROOT$PREFIX/uninstall.sh"

install -d -m 0755 "$ROOT/etc/systemd/system"
sed -e "s|/opt/songcheck|$PREFIX|g" "$BUNDLE/linux/songcheck-agent.service" > "$ROOT/etc/systemd/system/songcheck-agent.service"
chmod 0644 "$ROOT/etc/systemd/system/songcheck-agent.service"

# A command for people: `sudo songcheck-agent status` runs as the service user on the service's data.
install -d -m 0755 "$ROOT/usr/local/bin"
cat > "$ROOT/usr/local/bin/songcheck-agent" <<WRAPPER
#!/bin/sh
# Installed by songcheck's install.sh: runs the agent on the service's data directory as the service user.
export SONGCHECK_AGENT_DIR="\${SONGCHECK_AGENT_DIR:-/var/lib/songcheck}"
if [ "\$(id -u)" = 0 ]; then
  exec setpriv --reuid=songcheck --regid=songcheck --init-groups env HOME=/var/lib/songcheck "$NODE_PATH_ABS" "$PREFIX/songcheck-agent.mjs" "\$@"
fi
exec "$NODE_PATH_ABS" "$PREFIX/songcheck-agent.mjs" "\$@"
WRAPPER
chmod 0755 "$ROOT/usr/local/bin/songcheck-agent"

# 5. The state directory (systemd creates it too; enrolling needs it first), private to the service user.
install -d -m 0700 "$ROOT/var/lib/songcheck"
chown "$SC_UID:$SC_GID" "$ROOT/var/lib/songcheck"

# 6. Enroll, as the service user, into the directory the service will use.
as_service() {
  setpriv --reuid="$SC_UID" --regid="$SC_GID" --clear-groups env HOME="$ROOT/var/lib/songcheck" SONGCHECK_AGENT_DIR="$ROOT/var/lib/songcheck" "$NODE_PATH_ABS" "$ROOT$PREFIX/songcheck-agent.mjs" "$@"
}
if [ -n "$CODE" ]; then
  as_service enroll --collector "$COLLECTOR" --code "$CODE" || die "enrollment failed (see the message above); nothing was started"
elif [ ! -f "$ROOT/var/lib/songcheck/identity.json" ]; then
  die "this computer is not enrolled yet: run again with --collector URL --code CODE"
else
  echo "already enrolled: keeping the identity in /var/lib/songcheck"
fi

# 7. ICMP without privileges: the unit gives the agent no capabilities, so ping needs the kernel's
#    unprivileged ICMP sockets for the songcheck group (systemd's default range allows every group).
if [ -z "$ROOT" ] && [ -r /proc/sys/net/ipv4/ping_group_range ]; then
  read -r LOW HIGH < /proc/sys/net/ipv4/ping_group_range
  if [ "$SC_GID" -lt "$LOW" ] || [ "$SC_GID" -gt "$HIGH" ]; then
    echo 'net.ipv4.ping_group_range = 0 2147483647' > /etc/sysctl.d/60-songcheck-ping.conf
    sysctl -q -w net.ipv4.ping_group_range="0 2147483647" || true
    echo "allowed unprivileged ping for all groups (/etc/sysctl.d/60-songcheck-ping.conf)"
  fi
fi

# 8. Start at boot (and now).
command -v systemctl >/dev/null 2>&1 || die "systemctl not found: this script needs systemd"
if [ -n "$ROOT" ]; then
  systemctl --root="$ROOT" enable songcheck-agent.service
  echo "installed into $ROOT; the agent starts when that system boots"
else
  systemctl daemon-reload
  systemctl enable songcheck-agent.service
  if [ "$START" = yes ]; then
    systemctl restart songcheck-agent.service
    echo "songcheck-agent is running. Check it with: sudo songcheck-agent status   (and: sudo songcheck-agent doctor)"
  else
    echo "songcheck-agent is enabled and starts at the next boot (or: sudo systemctl start songcheck-agent)"
  fi
fi
