// What the registry's parts (sites, enrollment codes, devices) run on: the store (or the transaction the
// caller opened), the clock, and the audit log with its change feed. `Registry` builds one per call, so a
// registry bound to a transaction hands the transaction to every part.
import type { Store } from '../store/store.ts';
import type { ChangeFeed } from './audit-log.ts';

export interface RegistryContext {
  db: Store;
  /** Wall clock in epoch ms. */
  now(): number;
  feed: ChangeFeed;
}
