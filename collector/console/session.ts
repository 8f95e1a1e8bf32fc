// Console sessions: after signing in with the admin token or the reporting token, the browser holds one
// signed cookie `{ sid, role, exp }` (HMAC-SHA256 with a key derived from the admin token, so rotating the
// admin token ends every session). Nothing is stored server-side, so any collector process behind a load
// balancer accepts it; signing out clears the cookie and remembers the session id in this process until it
// would have expired anyway. The CSRF token is an HMAC of the session id: a page's forms carry it, every
// change checks it, and a cross-site page can neither read it nor send the SameSite=Strict cookie.
//
// One-time sign-in links (`npm run demo` prints one) carry a signed { nonce, role, exp }; the nonce is
// spent on first use in this process.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export type Role = 'admin' | 'report';

export interface Session {
  sid: string;
  role: Role;
  /** Epoch ms. */
  exp: number;
}

export const SESSION_COOKIE = 'songcheck_console';
export const LANG_COOKIE = 'songcheck_lang';
export const DEFAULT_SESSION_HOURS = 12;
/** A one-time link is meant to be clicked right away. */
export const LINK_TTL_MS = 15 * 60_000;

const b64 = (buf: Buffer | string) => Buffer.from(buf).toString('base64url');

function keyFrom(adminToken: string, purpose: string): Buffer {
  return createHmac('sha256', adminToken).update(`songcheck-console:${purpose}`).digest();
}

function sameBytes(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Signs and checks session cookies, CSRF tokens and one-time links with keys derived from the admin token. */
export class SessionKeys {
  private readonly sessionKey: Buffer;
  private readonly csrfKey: Buffer;
  private readonly linkKey: Buffer;
  /** Signed-out sessions and spent links (id → when it would expire), pruned as they pass. */
  private readonly spent = new Map<string, number>();

  constructor(adminToken: string, private readonly clock: () => number = Date.now) {
    this.sessionKey = keyFrom(adminToken, 'session');
    this.csrfKey = keyFrom(adminToken, 'csrf');
    this.linkKey = keyFrom(adminToken, 'link');
  }

  private sign(key: Buffer, payload: string): string {
    return `${payload}.${b64(createHmac('sha256', key).update(payload).digest())}`;
  }

  private open<T>(key: Buffer, value: string | undefined): T | undefined {
    if (!value || value.length > 512) return undefined;
    const dot = value.lastIndexOf('.');
    if (dot <= 0) return undefined;
    const payload = value.slice(0, dot);
    if (!sameBytes(this.sign(key, payload), value)) return undefined;
    try {
      return JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as T;
    } catch {
      return undefined;
    }
  }

  private prune(): void {
    const now = this.clock();
    if (this.spent.size < 1000) return;
    for (const [id, exp] of this.spent) if (exp <= now) this.spent.delete(id);
  }

  create(role: Role, hours = DEFAULT_SESSION_HOURS): { session: Session; cookie: string } {
    const session: Session = { sid: randomBytes(12).toString('base64url'), role, exp: this.clock() + hours * 3_600_000 };
    return { session, cookie: this.sign(this.sessionKey, b64(JSON.stringify(session))) };
  }

  /** The session a cookie value holds, if it is genuine, unexpired and not signed out. */
  read(cookie: string | undefined): Session | undefined {
    const s = this.open<Session>(this.sessionKey, cookie);
    if (!s || typeof s.sid !== 'string' || (s.role !== 'admin' && s.role !== 'report') || typeof s.exp !== 'number') return undefined;
    if (s.exp <= this.clock() || this.spent.has(s.sid)) return undefined;
    return s;
  }

  end(session: Session): void {
    this.prune();
    this.spent.set(session.sid, session.exp);
  }

  csrfToken(session: Session): string {
    return b64(createHmac('sha256', this.csrfKey).update(session.sid).digest());
  }

  checkCsrf(session: Session, token: string | undefined): boolean {
    return token !== undefined && sameBytes(this.csrfToken(session), token);
  }

  /** A link that signs in once, within LINK_TTL_MS. */
  oneTimeLink(role: Role): string {
    const payload = { n: randomBytes(12).toString('base64url'), r: role, e: this.clock() + LINK_TTL_MS };
    return this.sign(this.linkKey, b64(JSON.stringify(payload)));
  }

  /** Spends a one-time link: the role it grants, or undefined when forged, expired or already used. */
  spendLink(token: string | undefined): Role | undefined {
    const p = this.open<{ n: string; r: Role; e: number }>(this.linkKey, token);
    if (!p || (p.r !== 'admin' && p.r !== 'report') || typeof p.n !== 'string' || p.e <= this.clock() || this.spent.has(`link:${p.n}`)) return undefined;
    this.prune();
    this.spent.set(`link:${p.n}`, p.e);
    return p.r;
  }
}
