// The control channel's wire contract (docs/control-channel.md): one WebSocket per agent at CONTROL_PATH,
// authenticated with the device token, carrying JSON text messages. Both sides validate every message
// with these schemas; a message that does not parse gets an `error` message back (the socket stays up),
// one over CONTROL_MAX_MESSAGE_BYTES closes the socket (1009).
import { z } from 'zod';
import { API_PREFIX } from './api.ts';

/** Bumped when a message changes incompatibly; `hello` and `welcome` carry it. */
export const CONTROL_PROTOCOL_VERSION = 1;
export const CONTROL_PATH = `${API_PREFIX}/control`;
/** Largest message either side accepts: a configuration document is the biggest (a few KiB). */
export const CONTROL_MAX_MESSAGE_BYTES = 256 * 1024;
/** Close codes besides the standard ones (4401 revoked comes from collector/auth/ws-upgrade.ts). */
export const CLOSE_REPLACED = 4409; // a newer connection of the same device took over
export const CLOSE_PROTOCOL = 4400; // the peer spoke an unsupported version

const Ms = z.number().finite().min(0).max(1e13);
const Text = z.string().max(500);
const Seq = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** A configuration version (the collector's row id); 0 means "none received yet". */
export const ConfigVersion = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
export const CommandId = z.string().regex(/^cmd_[0-9a-f]{16}$/, 'must be a command id (cmd_ and 16 hex characters)');

/** What an operator can ask an agent to do now. */
export const ControlCommand = z.discriminatedUnion('kind', [
  z
    .object({
      kind: z.literal('run_probe'),
      probe: z.string().min(1).max(50),
      /** Absent: the probe's configured (or default) targets. */
      targets: z.array(z.string().min(1).max(200)).min(1).max(20).optional(),
    })
    .strict(),
]);
export type ControlCommand = z.infer<typeof ControlCommand>;

// ---- agent → collector

export const AgentHello = z
  .object({
    type: z.literal('hello'),
    v: z.number().int().min(1),
    agentVersion: z.string().min(1).max(50),
    /** The configuration version the agent runs (0: its local file only). */
    configVersion: ConfigVersion,
  })
  .strict();

/** NTP-style: t0 is the agent's clock when sent; the answer adds the collector's receive and send times. */
export const AgentHeartbeat = z
  .object({
    type: z.literal('heartbeat'),
    seq: Seq,
    t0: Ms,
    /** The agent's current estimate of collector clock minus its own, for the presence measurement. */
    offsetMs: z.number().finite().min(-1e12).max(1e12).optional(),
  })
  .strict();

export const ConfigResult = z
  .object({
    type: z.literal('config_result'),
    version: ConfigVersion,
    status: z.enum(['applied', 'rejected']),
    reason: Text.optional(),
  })
  .strict();

export const CommandResult = z
  .object({
    type: z.literal('command_result'),
    id: CommandId,
    status: z.enum(['done', 'failed']),
    detail: Text.optional(),
  })
  .strict();

export const AgentMessage = z.discriminatedUnion('type', [AgentHello, AgentHeartbeat, ConfigResult, CommandResult]);
export type AgentMessage = z.infer<typeof AgentMessage>;

// ---- collector → agent

export const Welcome = z
  .object({
    type: z.literal('welcome'),
    v: z.number().int().min(1),
    deviceId: z.string().max(100),
    site: z.string().max(100),
    /** How often the agent sends a heartbeat. */
    heartbeatSeconds: z.number().min(1).max(3600),
  })
  .strict();

export const HeartbeatAck = z
  .object({ type: z.literal('heartbeat_ack'), seq: Seq, t0: Ms, /** collector receive */ t1: Ms, /** collector send */ t2: Ms })
  .strict();

export const ConfigPush = z
  .object({
    type: z.literal('config'),
    version: ConfigVersion.min(1),
    /** An agent configuration document (agent-config.ts AgentConfig, before defaults). */
    config: z.record(z.string(), z.unknown()),
  })
  .strict();

export const CommandPush = z.object({ type: z.literal('command'), id: CommandId, command: ControlCommand }).strict();

/** Sent before a graceful shutdown or when shedding load: come back after `afterMs` (already spread by the collector). */
export const ReconnectLater = z.object({ type: z.literal('reconnect'), afterMs: z.number().int().min(0).max(3_600_000), reason: Text }).strict();

export const ControlError = z.object({ type: z.literal('error'), code: z.enum(['bad_message', 'unsupported_version', 'internal']), message: Text }).strict();

export const CollectorMessage = z.discriminatedUnion('type', [Welcome, HeartbeatAck, ConfigPush, CommandPush, ReconnectLater, ControlError]);
export type CollectorMessage = z.infer<typeof CollectorMessage>;

export type Parsed<T> = { ok: true; message: T } | { ok: false; error: string };

/**
 * Parses one text frame. Never throws: the error says what was wrong in words a person can act on
 * (the first few problems with their paths).
 */
export function parseControlMessage<S extends z.ZodType>(schema: S, data: string): Parsed<z.output<S>> {
  if (data.length > CONTROL_MAX_MESSAGE_BYTES) return { ok: false, error: `message is ${data.length} bytes; the limit is ${CONTROL_MAX_MESSAGE_BYTES}` };
  let raw: unknown;
  try {
    raw = JSON.parse(data);
  } catch {
    return { ok: false, error: 'message is not JSON' };
  }
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { ok: true, message: parsed.data };
  const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(message)'}: ${i.message}`);
  return { ok: false, error: `invalid message: ${issues.join('; ')}` };
}
