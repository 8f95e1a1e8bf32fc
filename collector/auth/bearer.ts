// The one way a credential travels: `Authorization: Bearer <token>` (device tokens, the admin and the
// reporting token, test tokens). Shared by the HTTP middleware and the WebSocket upgrades.

// Tokens are 43 base64url characters; anything much longer is not one of ours and is not worth hashing.
export const MAX_TOKEN_LENGTH = 512;

/** The token of an `Authorization: Bearer <token>` header, or undefined when there is no usable one. */
export function bearerToken(header: string | undefined): string | undefined {
  const match = /^Bearer[ ]+(\S+)\s*$/i.exec(header ?? '');
  return match && match[1]!.length <= MAX_TOKEN_LENGTH ? match[1] : undefined;
}

export const DEVICE_CHALLENGE = { 'www-authenticate': 'Bearer realm="songcheck"' };
