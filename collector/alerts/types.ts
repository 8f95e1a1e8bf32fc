// Shapes shared by the rules, the engine and the channels.
import type { z } from 'zod';
import type { QueryResponse } from '../influx/writer.ts';
import type { Device } from '../registry/registry.ts';
import type { Site } from '../registry/site.ts';
import type { SchoolTime } from '../school/school-time.ts';
import type { FloorFor } from './profile-floor.ts';

/** One evaluation of one rule for one site. `raise` and `clear` differ on purpose (hysteresis). */
export interface Observation {
  siteCode: string;
  /** The raise condition holds (e.g. RTT above 150 ms). */
  raise: boolean;
  /** The clear condition holds (e.g. RTT below 100 ms). Between the two, a firing alert stays firing. */
  clear: boolean;
  value?: number;
  /** One line for the message, in plain figures (language-neutral). */
  summary: string;
}

export interface RuleContext {
  now: number;
  sites: Site[];
  /** Devices that are not revoked. */
  devices: Device[];
  query(influxql: string): Promise<QueryResponse>;
  school: SchoolTime;
  floorFor: FloorFor;
}

/** A rule kind: its parameters (zod, with defaults) and how to evaluate them. Sites it returns nothing for keep their state. */
export interface RuleKind<S extends z.ZodType = z.ZodType> {
  kind: string;
  /** Names for the templates. */
  title: { en: string; vi: string };
  params: S;
  evaluate(params: z.output<S>, ctx: RuleContext): Promise<Observation[]>;
}

export type Lang = 'en' | 'vi';

export type MessageKind = 'firing' | 'reminder' | 'resolved' | 'group_firing' | 'group_resolved' | 'digest' | 'channel_failing';

/** What the engine asks the channels to say; templates turn it into text per language. */
export interface AlertMessage {
  kind: MessageKind;
  at: number;
  ruleId?: string;
  ruleKind?: string;
  severity?: string;
  /** One site (firing/reminder/resolved) or many (group, digest). */
  sites: { code: string; name: string; summary?: string }[];
  /** "commune: Bản Xèo" for grouped messages. */
  group?: { by: string; value: string; id: string };
  /** Digest lines and channel failures. */
  lines?: string[];
  channel?: string;
}
