import semverLt from 'semver/functions/lt.js';
import semverValid from 'semver/functions/valid.js';

/**
 * Whether this agent is older than the version the collector recommends (semver). Undefined when there is
 * no recommendation or either version is not semver: then nobody can say, and nothing is claimed.
 */
export function isBehind(current: string, recommended: string | undefined): boolean | undefined {
  if (!recommended || !semverValid(current) || !semverValid(recommended)) return undefined;
  return semverLt(current, recommended);
}
