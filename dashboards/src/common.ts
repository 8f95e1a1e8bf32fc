// What the four dashboards share: uids, variables, filters, verdict colours, rollup names.
import type { ValueMapping, VariableSpec } from './builder.ts';

export const UID = {
  province: 'songcheck-province',
  site: 'songcheck-site',
  operators: 'songcheck-operators',
  fleet: 'songcheck-fleet',
} as const;

/** Hourly rollups written by the collector's continuous queries (collector/grafana/rollups.ts). */
export const RP = '"rollup_1h"';

/** A site is silent after this long without heartbeat or result; the same figure as the site-silent alert. */
export const SILENT_AFTER_S = 1800;

/** The rolling 30-day verdict the compliance engine writes (docs/data-model.md, `compliance`). */
export const ROLLING_OVERALL = `period_kind = 'rolling30' AND criterion = 'overall'`;

export const VERDICT_MAPPINGS: ValueMapping[] = [
  { value: '1', text: 'ĐẠT', color: 'green' },
  { value: '0', text: 'KHÔNG ĐẠT', color: 'red' },
  { value: '-1', text: 'CHƯA ĐỦ DỮ LIỆU', color: 'gray' },
  { value: 'PASS', text: 'ĐẠT', color: 'green' },
  { value: 'FAIL', text: 'KHÔNG ĐẠT', color: 'red' },
  { value: 'INSUFFICIENT', text: 'CHƯA ĐỦ DỮ LIỆU', color: 'gray' },
];
export const VERDICT_THRESHOLDS = [
  { value: null, color: 'gray' },
  { value: 0, color: 'red' },
  { value: 1, color: 'green' },
];

// site_info holds one series per site and group (collector/grafana/site-info.ts); the group and profile
// filters reach the measurements through the site list, since those are not tags on results.
const group: VariableSpec = {
  name: 'group',
  label: 'Nhóm',
  description: 'Group label of the site (former district, cluster, ...), from the registry via site_info',
  query: 'SHOW TAG VALUES FROM "site_info" WITH KEY = "group"',
  multi: true,
  includeAll: true,
  allValue: '.*',
};
const operator: VariableSpec = {
  name: 'operator',
  label: 'Nhà mạng',
  description: 'Network operator of the site',
  query: 'SHOW TAG VALUES FROM "site_info" WITH KEY = "operator" WHERE "group" =~ /^$group$/',
  multi: true,
  includeAll: true,
  allValue: '.*',
};
const profile: VariableSpec = {
  name: 'profile',
  label: 'Hồ sơ chỉ tiêu',
  description: 'Target profile the sites are judged against',
  query: 'SHOW TAG VALUES FROM "site_info" WITH KEY = "profile"',
  multi: true,
  includeAll: true,
  allValue: '.*',
};
// Commune is a tag on every point (results, rollups, presence, compliance, site_info), so it filters
// province-wide panels without naming sites.
const commune: VariableSpec = {
  name: 'commune',
  label: 'Xã',
  description: 'Commune of the site (a tag on every point)',
  query: 'SHOW TAG VALUES FROM "site_info" WITH KEY = "commune" WHERE "group" =~ /^$group$/ AND "operator" =~ /^$operator$/',
  multi: true,
  includeAll: true,
  allValue: '.*',
};
const SITE_LIST =
  'SHOW TAG VALUES FROM "site_info" WITH KEY = "site" WHERE "group" =~ /^$group$/ AND "operator" =~ /^$operator$/ AND "profile" =~ /^$profile$/ AND "commune" =~ /^$commune$/';

/**
 * Group, operator, profile, commune, then the sites they leave. "All" sites is `.*`, not a regex of every
 * site code: that regex grows with the province (16 KB at 2 000 sites, 400 KB at 50 000) and is re-parsed by
 * InfluxDB in every query. Operator and commune are tags on every point, so they still filter under "All";
 * group and profile are not tags on results (a site may be in several groups): they narrow the commune and
 * site pickers, and a group's own figures come from selecting its sites (docs/grafana.md, "Filters").
 */
export const FILTER_VARIABLES: VariableSpec[] = [
  group,
  operator,
  profile,
  commune,
  { name: 'site', label: 'Điểm trường', description: 'Site (school or school site) code', query: SITE_LIST, multi: true, includeAll: true, allValue: '.*' },
];

/** Site detail: one site at a time. */
export const SITE_DETAIL_VARIABLES: VariableSpec[] = [
  group,
  operator,
  profile,
  commune,
  { name: 'site', label: 'Điểm trường', description: 'Site (school or school site) code', query: SITE_LIST, multi: false, includeAll: false },
];

/** The WHERE clause every result panel starts with (commune: see FILTER_VARIABLES; the site detail's is `.*`). */
export const SITES = `"commune" =~ /^$commune$/ AND "site" =~ /^$site$/`;
export const OPERATORS = `"operator" =~ /^$operator$/`;
/**
 * The WHERE clause of panels on the area rollups (latency_area_1d, uptime_area_1d: no site tag). They follow
 * the commune and operator filters; a site selection does not narrow them (their descriptions say so).
 */
export const COMMUNES = `"commune" =~ /^$commune$/`;

/** Online-class readiness over a range (the `readiness` points of `compliance run`): medians over the tests, and their number. */
export const READINESS_MEDIANS = 'SELECT median("video_classes") AS "video_classes", median("video_call_grade") AS "video_call_grade", median("streaming_grade") AS "streaming_grade", count("video_call_grade") AS "tests"';
/**
 * The same medians as stored by the compliance engine on each site's `overall` point (readiness_tests, …):
 * one point per site to read, where READINESS_MEDIANS reads every test of the range.
 */
export const READINESS_LATEST = 'SELECT last("video_classes_median") AS "video_classes", last("video_call_grade_median") AS "video_call_grade", last("streaming_grade_median") AS "streaming_grade", last("readiness_tests") AS "tests"';
