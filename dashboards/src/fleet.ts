// Agent fleet: is every agent alive, current, on time, not backed up, within its data budget, and has a
// guard caught one (device_flag, collector/guards/device-flags.ts)?
import { dashboard, siteDetailLink, type PanelSpec } from './builder.ts';
import { FILTER_VARIABLES, SITES, UID } from './common.ts';

const panels: PanelSpec[] = [
  {
    type: 'table',
    title: 'Thiết bị: lần cuối liên lạc, phiên bản, nền tảng',
    description: 'Per device: seconds since last heartbeat or result, control-channel connection, agent version, clock offset (collector minus device), revoked, and the platform from device facts',
    w: 24,
    h: 10,
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT last("last_seen_age_s") AS "last_seen_age_s", last("connected") AS "connected", last("agent_version") AS "agent_version", last("clock_offset_ms") AS "clock_offset_ms", last("revoked") AS "revoked" FROM "presence" WHERE ${SITES} AND $timeFilter GROUP BY "site", "device"`,
      },
      { refId: 'B', format: 'table', query: `SELECT last("os") AS "os", last("os_version") AS "os_version", last("arch") AS "arch", last("node_version") AS "node_version" FROM "device_facts" WHERE ${SITES} AND time > now() - 3d GROUP BY "site", "device"` },
    ],
    transformations: [{ id: 'joinByField', options: { byField: 'device', mode: 'outer' } }],
    displayNames: { site: 'Điểm trường', device: 'Thiết bị', last_seen_age_s: 'Lần cuối (s)', connected: 'Đang kết nối', agent_version: 'Phiên bản', clock_offset_ms: 'Lệch đồng hồ (ms)', revoked: 'Đã thu hồi', os: 'Hệ điều hành' },
    fieldLinks: { site: siteDetailLink(UID.site) },
  },
  {
    type: 'timeseries',
    title: 'Hàng đợi chưa gửi',
    description: 'Queue backlog: results waiting in each agent\'s durable queue (max per interval), per site',
    targets: [{ refId: 'A', alias: '$tag_site', query: `SELECT max("queue_depth") AS "queue_depth" FROM "agent_health" WHERE ${SITES} AND $timeFilter GROUP BY time($__interval), "site" fill(none)` }],
  },
  {
    type: 'timeseries',
    title: 'Lệch đồng hồ',
    description: 'Clock offset (ms): collector clock minus device clock, as the agent reports it in agent_health',
    unit: 'ms',
    targets: [{ refId: 'A', alias: '$tag_site', query: `SELECT mean("clock_offset_ms") AS "clock_offset_ms" FROM "agent_health" WHERE ${SITES} AND $timeFilter GROUP BY time($__interval), "site" fill(none)` }],
  },
  {
    type: 'table',
    title: 'Hạn mức dữ liệu',
    description: 'Data budget per site: bytes of the month\'s test budget used and left after the last throughput test',
    unit: 'bytes',
    targets: [{ refId: 'A', format: 'table', query: `SELECT last("budget_used_bytes") AS "budget_used_bytes", last("budget_left_bytes") AS "budget_left_bytes" FROM "throughput" WHERE ${SITES} AND $timeFilter GROUP BY "site"` }],
    displayNames: { site: 'Điểm trường', budget_used_bytes: 'Đã dùng', budget_left_bytes: 'Còn lại' },
    fieldLinks: { site: siteDetailLink(UID.site) },
  },
  {
    type: 'table',
    title: 'Thiết bị bị gắn cờ',
    description:
      'Devices a guard caught in the time range (device_flag): series_budget = results for more distinct targets of one probe than SONGCHECK_MAX_TARGETS_PER_PROBE, refused. Count = refusals so far. A hostile or broken agent: check it, revoke it, or clear the flag (songcheck-collector devices unflag). The full list: devices flagged',
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT last("count") AS "count", last("detail") AS "detail" FROM "device_flag" WHERE ${SITES} AND $timeFilter GROUP BY "site", "device", "flag"`,
      },
    ],
    displayNames: { site: 'Điểm trường', device: 'Thiết bị', flag: 'Cờ', count: 'Số lần bị từ chối', detail: 'Chi tiết' },
    fieldLinks: { site: siteDetailLink(UID.site) },
  },
  {
    type: 'table',
    title: 'Thiết bị đã thu hồi',
    description: 'Revoked devices (their tokens are refused); presence keeps reporting them so this list stays visible',
    targets: [
      {
        refId: 'A',
        format: 'table',
        query: `SELECT "revoked", "agent_version" FROM (SELECT last("revoked") AS "revoked", last("agent_version") AS "agent_version" FROM "presence" WHERE ${SITES} AND $timeFilter GROUP BY "site", "device") WHERE "revoked" = true GROUP BY "site", "device"`,
      },
    ],
    displayNames: { site: 'Điểm trường', device: 'Thiết bị', revoked: 'Đã thu hồi', agent_version: 'Phiên bản' },
  },
];

export const fleet = dashboard({
  uid: UID.fleet,
  title: 'songcheck — Đội thiết bị đo',
  description: 'Agent fleet: last seen, version, platform, queue backlog, clock offset, data budget, flagged and revoked devices',
  time: { from: 'now-24h', to: 'now' },
  refresh: '1m',
  variables: FILTER_VARIABLES,
  links: [
    { type: 'link', title: 'Tổng quan tỉnh', url: `/d/${UID.province}`, includeVars: true },
    { type: 'dashboards', title: 'songcheck' },
  ],
  panels,
});
