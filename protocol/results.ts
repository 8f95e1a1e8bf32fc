// The wire contract for results: what an agent sends and what the collector accepts.
// Field names are the InfluxDB field names (snake_case); every number is stored as a float
// so a field never changes type between writes.
import { z } from 'zod';

/** Outcome of one probe run. Failures are data, never exceptions. */
export const RESULT_CODES = [
  'ok', // measured as asked
  'partial', // some attempts failed (loss > 0) but at least one answer came back
  'timeout', // no answer within the time limit
  'refused', // the peer answered with a refusal (TCP RST, ICMP port unreachable)
  'unreachable', // no route, network down, host unreachable
  'dns_error', // the name did not resolve
  'tls_error', // TLS handshake or certificate failure
  'http_error', // HTTP status >= 400
  'reset', // the connection was reset mid-way
  'unavailable', // the probe cannot run here (e.g. no ping binary)
  'error', // anything else; `detail` says what
] as const;
export const ResultCode = z.enum(RESULT_CODES);
export type ResultCode = z.infer<typeof ResultCode>;

const ms = z.number().finite().min(0).max(3_600_000);
const count = z.number().int().min(0).max(1_000_000);

/** Id chosen by the agent when the result is created; unique per result (a UUID). */
export const ResultId = z.string().regex(/^[0-9A-Za-z_-]{8,64}$/, 'id must be 8-64 characters of [0-9A-Za-z_-]');
/** When it was measured: Unix epoch milliseconds, UTC. */
export const MeasuredAt = z.number().int().min(Date.UTC(2020, 0, 1)).max(Date.UTC(2100, 0, 1));
/**
 * The grammar of a `target`, which becomes a tag value (docs/data-model.md#tag-grammar): a host, host:port,
 * URL or name in 1-200 characters of ASCII letters, digits and the URL punctuation
 * `- . _ ~ : / ? # [ ] @ ! $ & ( ) * + , ; = %` (anything else percent-encoded). No space, quote,
 * apostrophe, backslash or control character: InfluxDB 1.x's line-protocol reader treats a backslash as an
 * escape everywhere on a line, so a tag value holding one can shift where the tags end and the fields begin.
 */
export const TARGET_PATTERN = /^[A-Za-z0-9\-._~:/?#[\]@!$&()*+,;=%]{1,200}$/;
export const Target = z
  .string()
  .regex(TARGET_PATTERN, 'target must be a host, host:port, URL or name: 1-200 characters of A-Z a-z 0-9 and - . _ ~ : / ? # [ ] @ ! $ & ( ) * + , ; = % (percent-encode anything else)');
/** Free text; the collector replaces control characters (line breaks included) with spaces before storing it. */
const Detail = z.string().max(500).optional();

/** Latency figures shared by every round-trip probe (TCP connect, ICMP echo). See docs/data-model.md. */
export const LatencyFields = z
  .object({
    sent: count,
    received: count,
    loss_pct: z.number().min(0).max(100),
    rtt_min_ms: ms.optional(),
    rtt_median_ms: ms.optional(),
    rtt_mean_ms: ms.optional(),
    rtt_p95_ms: ms.optional(),
    rtt_max_ms: ms.optional(),
    jitter_ms: ms.optional(),
    /** The router's idle round trip seen just before (gateway probe); LAN attribution, docs/throughput.md. */
    gateway_rtt_ms: ms.optional(),
    /** The school's own network (the PC's link to the router) was the likely bottleneck of this run. */
    lan_bottleneck: z.boolean().optional(),
    /** Why, in a few words ("the school's router alone took 40 of the 60 ms round trip"). */
    lan_reason: z.string().max(300).optional(),
  })
  .strict();
export type LatencyFields = z.infer<typeof LatencyFields>;

/** The local link to the router, as the OS reports it (agent/probes/gateway/local-link.ts). */
export const LAN_MEDIA = ['wired', 'wifi', 'cellular', 'unknown'] as const;

/**
 * The path to the router (probe `gateway`, target = the router's address): TCP-handshake round trips and loss
 * (a RST counts as an answer), and the local link. Stored as measurement `lan`.
 */
export const GatewayFields = LatencyFields.extend({
  lan_medium: z.enum(LAN_MEDIA),
  /** The router port that answered (accepted or reset); absent when none did. */
  port: z.number().int().min(1).max(65535).optional(),
  /** Wired: negotiated speed; Wi-Fi: transmit PHY rate (Mbit/s). */
  link_mbps: z.number().min(0).max(1e6).optional(),
  /** Wi-Fi: receive PHY rate (Mbit/s), where the OS gives it. */
  link_rx_mbps: z.number().min(0).max(1e6).optional(),
  wifi_signal_dbm: z.number().min(-150).max(0).optional(),
}).strict();
export type GatewayFields = z.infer<typeof GatewayFields>;

export const HttpFields = z
  .object({
    dns_ms: ms.optional(),
    connect_ms: ms.optional(),
    tls_ms: ms.optional(),
    ttfb_ms: ms.optional(),
    total_ms: ms.optional(),
    status: z.number().int().min(0).max(999).optional(),
    bytes: count.optional(),
  })
  .strict();
export type HttpFields = z.infer<typeof HttpFields>;

export const DnsFields = z
  .object({
    resolve_ms: ms.optional(),
    answers: count,
    server: z.string().max(100).optional(),
  })
  .strict();
export type DnsFields = z.infer<typeof DnsFields>;

export const AgentHealthFields = z
  .object({
    queue_depth: count,
    queue_bytes: z.number().int().min(0),
    oldest_unsent_age_s: z.number().min(0).optional(),
    evicted_total: count,
    skipped_corrupt_total: count,
    torn_tail_dropped_total: count.optional(),
    rejected_total: count,
    append_failed_total: count,
    last_upload_at: z.number().int().min(0).optional(),
    upload_failures: count,
    uptime_s: z.number().min(0),
    rss_mb: z.number().min(0),
    /** Older than the version the collector recommends; absent when no recommendation is known. */
    behind_recommended: z.boolean().optional(),
    /** Collector clock minus this device's clock, from the control channel; absent before the first estimate. */
    clock_offset_ms: z.number().finite().min(-1e12).max(1e12).optional(),
    /** Whether measurement times are being corrected by clock_offset_ms (see docs/uptime.md#clocks). */
    clock_corrected: z.boolean().optional(),
  })
  .strict();
export type AgentHealthFields = z.infer<typeof AgentHealthFields>;

const shortText = z.string().max(200);
export const DeviceFactsFields = z
  .object({
    agent_version: shortText,
    node_version: shortText,
    hostname: shortText,
    os: shortText,
    os_version: shortText,
    arch: shortText,
    cpu: shortText,
    cpu_cores: count,
    mem_total_mb: z.number().min(0),
    mem_free_mb: z.number().min(0),
    system_uptime_s: z.number().min(0),
    iface: shortText.optional(),
    iface_type: shortText.optional(),
    ipv4: shortText.optional(),
    ipv6: shortText.optional(),
    mac: shortText.optional(),
    wifi_ssid: shortText.optional(),
    wifi_signal_dbm: z.number().min(-150).max(0).optional(),
    wifi_quality_pct: z.number().min(0).max(100).optional(),
    // Cellular modem through ModemManager (Linux); absent elsewhere. See agent/device/modem/.
    modem_operator: shortText.optional(),
    /** The current access technology, simplified: 2g, 3g, 4g or 5g (5g also for LTE+NR). */
    modem_access_tech: shortText.optional(),
    /** ModemManager's 0-100 signal quality (a coarse figure every modem gives). */
    modem_signal_pct: z.number().min(0).max(100).optional(),
    modem_rssi_dbm: z.number().min(-150).max(0).optional(),
    modem_rsrp_dbm: z.number().min(-160).max(0).optional(),
    modem_rsrq_db: z.number().min(-40).max(20).optional(),
    modem_sinr_db: z.number().min(-30).max(50).optional(),
    modem_cell_id: shortText.optional(),
  })
  .strict();
export type DeviceFactsFields = z.infer<typeof DeviceFactsFields>;

/** Throughput engines: the `method` tag of a `throughput` point. */
export const THROUGHPUT_METHODS = ['ndt7', 'http_multistream'] as const;
export type ThroughputMethod = (typeof THROUGHPUT_METHODS)[number];
export const THROUGHPUT_DIRECTIONS = ['download', 'upload'] as const;
export type ThroughputDirection = (typeof THROUGHPUT_DIRECTIONS)[number];
/** Why a transfer ended: see docs/throughput.md. */
export const STOP_REASONS = ['stable', 'time_limit', 'byte_cap', 'server_closed', 'failed', 'not_started'] as const;

const bytes = z.number().int().min(0).max(1e13);
/** The stored rate curve: up to RATE_CURVE_MAX_BINS non-negative integers (kbit/s), comma-separated. */
export const RATE_CURVE_MAX_BINS = 480;
const RATE_CURVE = new RegExp(`^\\d{1,7}(,\\d{1,7}){0,${RATE_CURVE_MAX_BINS - 1}}$`);
const mbps = z.number().finite().min(0).max(100_000);

/**
 * One direction of one throughput test (a test makes one result per direction). Rates are goodput in
 * Mbit/s (10^6 bit/s) of application payload, measured at the receiver after the warm-up. See docs/throughput.md.
 */
export const ThroughputFields = z
  .object({
    /** Steady-state rate after the warm-up; absent when the test moved too little to say. */
    mbps: mbps.optional(),
    /** ndt7 uploads: what the server (the receiver) measured over the whole test; absent otherwise. */
    server_mbps: mbps.optional(),
    /** Application payload moved in this direction, warm-up included. */
    bytes,
    /** Bytes charged to the data budget (socket bytes both ways plus an allowance for TCP/IP headers). */
    budget_bytes: bytes,
    duration_ms: ms,
    warmup_ms: ms,
    streams: z.number().int().min(1).max(64),
    /** The host (and port) that served the test: a string field, not a tag (M-Lab hosts are many). */
    server: z.string().max(200),
    stopped_early: z.boolean(),
    stop_reason: z.enum(STOP_REASONS),
    byte_cap: bytes,
    // --- test conditions (docs/throughput.md "Busy line", "The school's own network", "Confirmation") ---
    /** Before the test: idle RTT to the server minus the site's recent idle baseline (ms). */
    busy_rtt_inflation_ms: z.number().finite().min(-3_600_000).max(3_600_000).optional(),
    /** Before the test: this machine's own traffic on its default interface (Mbit/s). */
    busy_iface_mbps: mbps.optional(),
    /** The line looked busy before the test (the test was postponed, or this was the last try). */
    busy: z.boolean().optional(),
    /** How many times this test was postponed because the line was busy. */
    postponed: count.optional(),
    /** During the test: this machine's interface traffic beyond the test's own bytes (Mbit/s). */
    cross_traffic_mbps: mbps.optional(),
    /** The test ran with cross traffic (busy before, or traffic beside it): verdicts leave it out. */
    cross_traffic: z.boolean().optional(),
    lan_medium: z.enum(LAN_MEDIA).optional(),
    lan_link_mbps: z.number().min(0).max(1e6).optional(),
    lan_wifi_signal_dbm: z.number().min(-150).max(0).optional(),
    gateway_rtt_ms: ms.optional(),
    gateway_loaded_rtt_ms: ms.optional(),
    /** The school's own network was the likely bottleneck: verdicts leave the test out and say why. */
    lan_bottleneck: z.boolean().optional(),
    lan_reason: z.string().max(300).optional(),
    /** This test confirms an earlier one that fell under the floor: that result's id. */
    confirmation_of: ResultId.optional(),
    /** A confirmation: the rate the confirmed test read (Mbit/s), so the pair is judged from this one point. */
    confirmation_of_mbps: mbps.optional(),
    idle_rtt_ms: ms.optional(),
    loaded_rtt_median_ms: ms.optional(),
    loaded_rtt_p95_ms: ms.optional(),
    loaded_rtt_samples: count.optional(),
    /** Responsiveness under load: 60000 / loaded_rtt_median_ms. */
    rpm: z.number().finite().min(0).max(1e9).optional(),
    budget_used_bytes: bytes.optional(),
    budget_left_bytes: bytes.optional(),
    /**
     * The rate over time: kbit/s per curve_bin_ms bin from the first byte, comma-separated integers. Digits and
     * commas only, so it is safe in InfluxDB line protocol as it is; at most RATE_CURVE_MAX_BINS bins.
     */
    curve_kbps: z.string().max(RATE_CURVE_MAX_BINS * 8).regex(RATE_CURVE, 'comma-separated integers (kbit/s per bin)').optional(),
    curve_bin_ms: z.number().int().min(50).max(5_000).optional(),
    /** A step down in the rate (an operator's boost) was seen; mbps is the rate after it. */
    boost: z.boolean().optional(),
    /** The boost's rate (median of its bins), the bytes and the time from the first byte to the step. */
    boost_peak_mbps: mbps.optional(),
    boost_bytes: bytes.optional(),
    boost_ms: ms.optional(),
    /** Where the figure's steady state starts, ms from the first byte (past a boost or a slow ramp). */
    sustained_from_ms: ms.optional(),
    /** This was a learning test: run long to find the site's boost. */
    boost_learning: z.boolean().optional(),
    /** The site's learned boost this test had to run past, bytes. */
    boost_expected_bytes: bytes.optional(),
  })
  .strict();
export type ThroughputFields = z.infer<typeof ThroughputFields>;

/**
 * What one connectivity check found (docs/uptime.md). `up`: names resolve and the collector or the outside
 * target answers; `collector_down`: the Internet works but the collector does not answer (up for the school);
 * `dns_down`: addresses answer but names do not resolve; `link_down`: neither the collector nor the outside
 * target answers.
 */
export const CHECK_STATES = ['up', 'collector_down', 'dns_down', 'link_down'] as const;
export type CheckState = (typeof CHECK_STATES)[number];
/** The failure kinds an `outage` result can have: every check state except `up`. */
export const OUTAGE_KINDS = ['link_down', 'dns_down', 'collector_down'] as const;
export type OutageKind = (typeof OUTAGE_KINDS)[number];

/**
 * One 15-minute slot of connectivity checks (slot start = measuredAt, aligned to :00/:15/:30/:45). A slot
 * with no agent running has no point at all: that is "device off or unknown", never an outage.
 */
export const UptimeSlotFields = z
  .object({
    /** Checks made in the slot. */
    checks: count,
    checks_up: count,
    checks_collector_down: count,
    checks_dns_down: count,
    checks_link_down: count,
    /** Seconds of the slot the agent was running and checking (at most 900). */
    observed_s: z.number().min(0).max(900),
    /** Seconds of the slot the last check said `up` or `collector_down` (the school had Internet). */
    up_s: z.number().min(0).max(900),
  })
  .strict();
export type UptimeSlotFields = z.infer<typeof UptimeSlotFields>;

/** Why an outage interval ended. */
export const OUTAGE_END_REASONS = ['recovered', 'device_off', 'agent_stopped'] as const;

/**
 * One outage interval seen by the agent (measuredAt = start: the first failed check). Sent when it ends,
 * with its original times, however long after.
 */
export const OutageFields = z
  .object({
    /** The last failed check (device_off, agent_stopped) or the first successful one (recovered). */
    end_at: MeasuredAt,
    duration_s: z.number().min(0).max(400 * 86_400),
    checks_failed: count,
    ended_by: z.enum(OUTAGE_END_REASONS),
  })
  .strict();
export type OutageFields = z.infer<typeof OutageFields>;

/**
 * Things that happen to the agent and its device (the `event` tag): its own start and stop, a start after an
 * unclean end (power loss or crash), a sleep (wall clock jumped ahead of monotonic time), a clock step, and
 * remote configuration and commands.
 */
export const AGENT_EVENTS = ['start', 'stop', 'unclean_stop', 'sleep', 'clock_step', 'config_applied', 'config_rejected', 'command'] as const;
export type AgentEvent = (typeof AGENT_EVENTS)[number];

export const AgentEventFields = z
  .object({
    /** For stop/unclean_stop/sleep: when the device was last known to be running (ms). */
    from_at: MeasuredAt.optional(),
    /** For stop/unclean_stop/sleep: when it was running again (ms). */
    to_at: MeasuredAt.optional(),
    /** to_at - from_at in seconds; for clock_step the size of the step (signed). */
    gap_s: z.number().finite().min(-1e9).max(1e9).optional(),
    /** The operating system's uptime when the event was recorded: small after a boot. */
    system_uptime_s: z.number().min(0).optional(),
    /** Whether the device booted during the gap (system uptime shorter than the gap). */
    booted: z.boolean().optional(),
    /** Configuration version, command name or similar. */
    reason: z.string().max(200).optional(),
  })
  .strict();
export type AgentEventFields = z.infer<typeof AgentEventFields>;

function resultOf<P extends string, F extends z.ZodTypeAny>(probe: P, fields: F) {
  return z
    .object({
      id: ResultId,
      probe: z.literal(probe),
      target: Target,
      measuredAt: MeasuredAt,
      code: ResultCode,
      detail: Detail,
      fields,
    })
    .strict();
}

export const TcpResult = resultOf('tcp', LatencyFields);
export const IcmpResult = resultOf('icmp', LatencyFields);
export const HttpResult = resultOf('http', HttpFields);
export const DnsResult = resultOf('dns', DnsFields);
export const AgentHealthResult = resultOf('agent_health', AgentHealthFields);
export const DeviceFactsResult = resultOf('device_facts', DeviceFactsFields);
export const GatewayResult = resultOf('gateway', GatewayFields);

/** Throughput carries its method and direction at the top level: both become tags (see collector/influx/storage.ts). */
export const ThroughputResult = resultOf('throughput', ThroughputFields).extend({
  method: z.enum(THROUGHPUT_METHODS),
  direction: z.enum(THROUGHPUT_DIRECTIONS),
});

/** One 15-minute slot of connectivity checks; `target` is `link`. */
export const UptimeResult = resultOf('uptime', UptimeSlotFields);
/** An outage interval; its `kind` becomes a tag. `target` is `link`. */
export const OutageResult = resultOf('outage', OutageFields).extend({ kind: z.enum(OUTAGE_KINDS) });
/** An agent or device event; its `event` becomes a tag. `target` is `self`. */
export const AgentEventResult = resultOf('agent_event', AgentEventFields).extend({ event: z.enum(AGENT_EVENTS) });

export const Result = z.discriminatedUnion('probe', [
  TcpResult,
  IcmpResult,
  HttpResult,
  DnsResult,
  AgentHealthResult,
  DeviceFactsResult,
  GatewayResult,
  ThroughputResult,
  UptimeResult,
  OutageResult,
  AgentEventResult,
]);
export type Result = z.infer<typeof Result>;
export type ProbeName = Result['probe'];
