// The control channel's tables: migration 3 of the collector's database (collector/database.ts).
import { LEASES_TABLE_SQLITE } from '../store/leases.ts';
import type { Migration } from '../store/store.ts';

// 3 (control channel, docs/control-channel.md): agent configurations pushed to a site, a group or all
// (scope 'site:CODE', 'group:LABEL' or 'all'; the id is the version), each device's state of the one
// meant for it, commands waiting for or sent to a device, who is connected now (written throttled by
// the process holding the socket), and leases so only one collector process writes the presence sweep.
// The `leases` table (collector/store/leases.ts) shipped in this step, so it is created here.
export const CONTROL_MIGRATIONS: Migration[] = [
  {
    version: 3,
    owner: 'control',
    sqlite: `CREATE TABLE agent_configs (
     version INTEGER PRIMARY KEY AUTOINCREMENT,
     scope TEXT NOT NULL,
     config TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     actor TEXT NOT NULL
   );
   CREATE INDEX agent_configs_scope ON agent_configs(scope, version);
   CREATE TABLE device_config_state (
     device_id TEXT PRIMARY KEY REFERENCES devices(id),
     version INTEGER NOT NULL,
     status TEXT NOT NULL,
     reason TEXT,
     updated_at INTEGER NOT NULL
   );
   CREATE TABLE control_commands (
     id TEXT PRIMARY KEY,
     device_id TEXT NOT NULL REFERENCES devices(id),
     command TEXT NOT NULL,
     status TEXT NOT NULL,
     detail TEXT,
     actor TEXT NOT NULL,
     created_at INTEGER NOT NULL,
     expires_at INTEGER NOT NULL,
     updated_at INTEGER NOT NULL
   );
   CREATE INDEX control_commands_pending ON control_commands(status) WHERE status = 'pending';
   CREATE TABLE control_presence (
     device_id TEXT PRIMARY KEY REFERENCES devices(id),
     holder TEXT,
     connected INTEGER NOT NULL,
     changed_at INTEGER NOT NULL,
     refreshed_at INTEGER NOT NULL,
     clock_offset_ms REAL,
     agent_version TEXT
   );
   ${LEASES_TABLE_SQLITE}`,
  },
];
