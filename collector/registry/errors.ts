// What the registry refuses, and why an enrollment code was refused: the admin API and the CLI turn these
// into answers (HTTP status, exit code) a person can act on.

export class RegistryError extends Error {
  constructor(
    readonly code: 'invalid_site' | 'site_exists' | 'site_not_found' | 'device_not_found' | 'code_not_found' | 'invalid_argument',
    message: string,
  ) {
    super(message);
    this.name = 'RegistryError';
  }
}

export type EnrollmentFailure = 'invalid' | 'expired' | 'used_up';

export class EnrollmentError extends Error {
  constructor(readonly reason: EnrollmentFailure) {
    super(`enrollment code ${reason === 'invalid' ? 'unknown' : reason.replace('_', ' ')}`);
    this.name = 'EnrollmentError';
  }
}
