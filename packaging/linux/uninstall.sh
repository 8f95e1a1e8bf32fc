#!/bin/sh
# Removes the songcheck agent service. Keeps /var/lib/songcheck (identity and undelivered results) and the
# songcheck user unless --purge is given, so a reinstall carries on where it stopped.
#
#   sudo sh /opt/songcheck/uninstall.sh [--purge] [--prefix DIR] [--root DIR]
set -eu

PREFIX=/opt/songcheck
ROOT=
PURGE=no

die() { echo "uninstall.sh: $*" >&2; exit 1; }

while [ $# -gt 0 ]; do
  case "$1" in
    --purge) PURGE=yes; shift ;;
    --prefix) PREFIX=${2:?--prefix needs a directory}; shift 2 ;;
    --root) ROOT=${2:?--root needs a directory}; shift 2 ;;
    -h|--help) echo "usage: uninstall.sh [--purge] [--prefix DIR] [--root DIR]"; exit 0 ;;
    *) die "unknown option: $1" ;;
  esac
done
[ "$(id -u)" = 0 ] || die "run as root (sudo sh $0 ...)"
if [ -n "$ROOT" ]; then
  [ -d "$ROOT" ] || die "--root $ROOT is not a directory"
  ROOT=$(cd "$ROOT" && pwd)
  [ "$ROOT" = / ] && ROOT=
fi

UNIT="$ROOT/etc/systemd/system/songcheck-agent.service"
if [ -f "$UNIT" ]; then
  if [ -n "$ROOT" ]; then
    systemctl --root="$ROOT" disable songcheck-agent.service || true
  else
    # Stopping sends SIGTERM: the agent closes its queue cleanly.
    systemctl disable --now songcheck-agent.service || true
  fi
  rm -f "$UNIT"
  [ -z "$ROOT" ] && systemctl daemon-reload || true
fi
rm -f "$ROOT/usr/local/bin/songcheck-agent"
case "$PREFIX" in
  /|/usr|/usr/local|/opt|"") die "refusing to remove $PREFIX" ;;
esac
rm -rf "$ROOT$PREFIX"

if [ "$PURGE" = yes ]; then
  rm -rf "$ROOT/var/lib/songcheck"
  rm -f "$ROOT/etc/sysctl.d/60-songcheck-ping.conf"
  if grep -q '^songcheck:' "$ROOT/etc/passwd"; then
    if [ -n "$ROOT" ]; then userdel --root "$ROOT" songcheck; else userdel songcheck; fi
  fi
  echo "songcheck agent removed, with its data and user"
else
  echo "songcheck agent removed; its identity and undelivered results are kept in /var/lib/songcheck (--purge removes them)"
fi
