import { request as httpRequest } from 'node:http';

/**
 * The request function for a URL. node:https (and TLS with it) is loaded on the first https URL only:
 * about 2 MB resident that an agent talking plain http to an in-province collector never needs.
 */
export async function requestFor(url: URL): Promise<typeof httpRequest> {
  return url.protocol === 'https:' ? (await import('node:https')).request : httpRequest;
}

/** Node's bundled root CAs plus an extra one (`ca` replaces the roots, so they are passed along). */
export async function rootsPlus(extraCa: string): Promise<string[]> {
  return [...(await import('node:tls')).rootCertificates, extraCa];
}
