// The influxdb.conf of one test/demo instance of InfluxDB 1.x (scripts/influxd-server.ts writes it at
// every start): its own data directory and ports, nothing phoning home, nothing extra listening.
import path from 'node:path';

const toml = (value: string): string => JSON.stringify(value); // a JSON string is a valid TOML basic string

/**
 * influxdb.conf for one instance. Based on `influxd config` of influxd 1.6.7: sections and keys not named
 * here keep that version's defaults. influxd 1.x ignores keys it doesn't know, which is what lets both
 * spellings of the phone-home switch be set below.
 */
export function renderInfluxdConfig(c: { dataDir: string; bindHost: string; httpPort: number; rpcPort: number; maxSeriesPerDatabase?: number }): string {
  const hostPort = (host: string, port: number): string => toml(`${host.includes(':') ? `[${host}]` : host}:${port}`);
  return `# Written by scripts/influxd-server.ts for one songcheck test/demo instance; rewritten at every start.

# Never phone home to usage.influxdata.com (no network here; and tests must not talk to the Internet).
# Debian's build spells it reporting-enabled (default false); upstream 1.x builds spell it reporting-disabled.
reporting-enabled = false
reporting-disabled = true

# RPC service for backup/restore. Default 127.0.0.1:8088 would collide between parallel instances, and it
# cannot be switched off in 1.x, so each instance gets its own free loopback port.
bind-address = ${hostPort('127.0.0.1', c.rpcPort)}

[meta]
  # Everything under this instance's own directory: nothing in /var/lib/influxdb or ~/.influxdb is touched.
  dir = ${toml(path.join(c.dataDir, 'meta'))}
  # CREATE DATABASE also creates the "autogen" retention policy that writes without rp= go to.
  retention-autocreate = true

[data]
  dir = ${toml(path.join(c.dataDir, 'data'))}
  wal-dir = ${toml(path.join(c.dataDir, 'wal'))}
  # fsync the WAL before answering a write (the default): the collector acknowledges an agent only after
  # InfluxDB answered 2xx, so a 2xx must mean the point survives a crash.
  wal-fsync-delay = "0s"
  # The default in-memory index; tsi1 is not needed for test and demo sizes.
  index-version = "inmem"
  # One log line per query would bury the lines that matter when a start fails.
  query-log-enabled = false
${c.maxSeriesPerDatabase !== undefined ? `  max-series-per-database = ${Math.floor(c.maxSeriesPerDatabase)}\n` : ''}
[monitor]
  # Otherwise influxd writes its own statistics into an "_internal" database every 10 s: disk and CPU for
  # nothing, and an extra database in SHOW DATABASES.
  store-enabled = false

[http]
  enabled = true
  bind-address = ${hostPort(c.bindHost, c.httpPort)}
  # Loopback, throwaway data: no users. Production (docker-compose.yml) configures its own InfluxDB.
  auth-enabled = false
  # The access log writes one line per /write and /query: noise in the log file.
  log-enabled = false
  # No /debug/pprof endpoints.
  pprof-enabled = false
  https-enabled = false
  # Default socket path /var/run/influxdb.sock is shared by every instance; keep it off (the default).
  unix-socket-enabled = false

[logging]
  # The log file is not a terminal: plain logfmt, no ASCII-art logo.
  format = "logfmt"
  level = "info"
  suppress-logo = true

[continuous_queries]
  # Left on (the default) so continuous queries behave as in production.
  enabled = true

[ifql]
  # Off (the default); when on it binds :8082 on every interface.
  enabled = false

# Other inputs stay off (their defaults, written out so nothing else binds a port).
[[graphite]]
  enabled = false

[[collectd]]
  enabled = false

[[opentsdb]]
  enabled = false

[[udp]]
  enabled = false
`;
}
