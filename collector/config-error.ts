// A configuration that cannot run: every problem, one line each (`SONGCHECK_X: reason`), so an operator fixes
// them all in one go. Its own file because every feature's config module throws it, and the collector's
// config.ts imports those modules.
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}
