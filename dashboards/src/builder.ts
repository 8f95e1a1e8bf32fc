// A small typed builder for Grafana dashboard JSON (schemaVersion 39): panels with raw InfluxQL targets,
// query variables, links. Only what songcheck's dashboards use, so the compiler checks every dashboard and
// the JSON stays reviewable. Grid positions are laid out here: panels fill rows of 24 columns in order.

/** The one InfluxDB (InfluxQL) data source every panel and alert rule uses; provisioned with this uid. */
export const DATASOURCE = { type: 'influxdb', uid: 'songcheck-influxdb' } as const;
export const DASHBOARD_TAG = 'songcheck';

export type PanelType = 'timeseries' | 'stat' | 'table' | 'geomap' | 'state-timeline' | 'barchart';
export type ResultFormat = 'time_series' | 'table';

export interface Target {
  refId: string;
  /** Raw InfluxQL with Grafana's macros ($timeFilter, $__interval) and template variables. */
  query: string;
  format?: ResultFormat;
  /** Series alias, e.g. `$tag_site`. */
  alias?: string;
}

export interface ValueMapping {
  value: string;
  text: string;
  color: string;
}

export interface PanelSpec {
  type: PanelType;
  /** Vietnamese title. */
  title: string;
  /** English: what the panel shows and how, for people who do not read Vietnamese. */
  description: string;
  targets: Target[];
  w?: number;
  h?: number;
  unit?: string;
  min?: number;
  max?: number;
  decimals?: number;
  /** Minimum GROUP BY time() interval, e.g. `1h` on rollup panels. */
  interval?: string;
  /** Threshold steps: the first is the base colour. */
  thresholds?: { value: number | null; color: string }[];
  /** Draw thresholds as lines (targets on throughput). */
  thresholdLines?: boolean;
  mappings?: ValueMapping[];
  /** Special mapping for empty values (e.g. a slot with no uptime point = device off or unknown). */
  nullText?: { text: string; color: string };
  /** Renames of fields (column/series name → Vietnamese display name). */
  displayNames?: Record<string, string>;
  /** Data links on a field: column name → link. */
  fieldLinks?: Record<string, { title: string; url: string }>;
  transformations?: { id: string; options: Record<string, unknown> }[];
  options?: Record<string, unknown>;
  custom?: Record<string, unknown>;
}

export interface VariableSpec {
  name: string;
  label: string;
  description: string;
  /** InfluxQL returning values (SHOW TAG VALUES ...). */
  query: string;
  multi: boolean;
  includeAll: boolean;
  /** Value of "All"; without it Grafana expands All to every listed value. */
  allValue?: string;
}

export interface DashboardLink {
  title: string;
  /** Either a fixed URL to one dashboard (`/d/<uid>`) or every dashboard with the songcheck tag. */
  type: 'link' | 'dashboards';
  url?: string;
  keepTime?: boolean;
  includeVars?: boolean;
}

export interface DashboardSpec {
  uid: string;
  title: string;
  description: string;
  time: { from: string; to: string };
  refresh?: string;
  variables: VariableSpec[];
  links: DashboardLink[];
  panels: PanelSpec[];
}

/** Link from a table cell to the site detail dashboard, carrying the site and the time range. */
export function siteDetailLink(uid: string, field = 'site'): { title: string; url: string } {
  return { title: 'Chi tiết điểm trường (site detail)', url: `/d/${uid}?var-site=\${__data.fields.${field}}&\${__url_time_range}` };
}

export function variable(v: VariableSpec): Record<string, unknown> {
  return {
    name: v.name,
    label: v.label,
    description: v.description,
    type: 'query',
    datasource: DATASOURCE,
    query: v.query,
    definition: v.query,
    refresh: 1,
    sort: 1,
    multi: v.multi,
    includeAll: v.includeAll,
    ...(v.allValue !== undefined ? { allValue: v.allValue } : {}),
    current: v.includeAll ? { selected: true, text: ['All'], value: ['$__all'] } : {},
    options: [],
    hide: 0,
  };
}

function fieldConfig(p: PanelSpec): Record<string, unknown> {
  const mappings: unknown[] = [];
  if (p.mappings?.length) {
    mappings.push({
      type: 'value',
      options: Object.fromEntries(p.mappings.map((m, i) => [m.value, { text: m.text, color: m.color, index: i }])),
    });
  }
  if (p.nullText) mappings.push({ type: 'special', options: { match: 'null', result: { text: p.nullText.text, color: p.nullText.color, index: mappings.length } } });
  const overrides: unknown[] = [];
  for (const [name, displayName] of Object.entries(p.displayNames ?? {})) {
    overrides.push({ matcher: { id: 'byName', options: name }, properties: [{ id: 'displayName', value: displayName }] });
  }
  for (const [name, link] of Object.entries(p.fieldLinks ?? {})) {
    overrides.push({ matcher: { id: 'byName', options: name }, properties: [{ id: 'links', value: [link] }] });
  }
  return {
    defaults: {
      ...(p.unit ? { unit: p.unit } : {}),
      ...(p.min !== undefined ? { min: p.min } : {}),
      ...(p.max !== undefined ? { max: p.max } : {}),
      ...(p.decimals !== undefined ? { decimals: p.decimals } : {}),
      mappings,
      thresholds: { mode: 'absolute', steps: p.thresholds ?? [{ value: null, color: 'green' }] },
      color: { mode: p.thresholds || p.mappings ? 'thresholds' : 'palette-classic' },
      custom: { ...(p.thresholdLines ? { thresholdsStyle: { mode: 'line' } } : {}), ...p.custom },
    },
    overrides,
  };
}

export function dashboard(spec: DashboardSpec): Record<string, unknown> {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  const panels = spec.panels.map((p, i) => {
    const w = p.w ?? 12;
    const h = p.h ?? 8;
    if (x + w > 24) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const gridPos = { x, y, w, h };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return {
      id: i + 1,
      type: p.type,
      title: p.title,
      description: p.description,
      gridPos,
      datasource: DATASOURCE,
      ...(p.interval ? { interval: p.interval } : {}),
      targets: p.targets.map((t) => ({
        refId: t.refId,
        datasource: DATASOURCE,
        rawQuery: true,
        query: t.query.replace(/\s+/g, ' ').trim(),
        resultFormat: t.format ?? 'time_series',
        ...(t.alias ? { alias: t.alias } : {}),
      })),
      fieldConfig: fieldConfig(p),
      options: p.options ?? {},
      ...(p.transformations ? { transformations: p.transformations } : {}),
    };
  });
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: [DASHBOARD_TAG],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: 39,
    version: 1,
    time: spec.time,
    ...(spec.refresh ? { refresh: spec.refresh } : {}),
    templating: { list: spec.variables.map(variable) },
    annotations: { list: [] },
    links: spec.links.map((l) =>
      l.type === 'dashboards'
        ? { type: 'dashboards', title: l.title, tags: [DASHBOARD_TAG], asDropdown: true, keepTime: l.keepTime ?? true, includeVars: l.includeVars ?? false }
        : { type: 'link', title: l.title, url: l.url, keepTime: l.keepTime ?? true, includeVars: l.includeVars ?? false, icon: 'dashboard' },
    ),
    panels,
  };
}
