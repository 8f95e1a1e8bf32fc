// The page frame shared by every console page: navigation, language switch, who is signed in, flash
// messages, and the small pieces every page uses (verdict badges, forms that carry the CSRF token).
import type { Child, FC } from 'hono/jsx';
import { raw } from 'hono/html';
import type { Verdict } from '../compliance/judge.ts';
import type { Lang, Texts } from './i18n.ts';
import type { Role } from './session.ts';

export const BASE = '/console';

/** What every page needs to render. */
export interface View {
  t: Texts;
  lang: Lang;
  role?: Role;
  csrf?: string;
  /** Current path and query, for the language switch to come back to. */
  here: string;
  /** The registry holds demo sites: every page says so. */
  demo: boolean;
  timeZone: string;
  flash?: { kind: 'ok' | 'error'; text: string };
}

const NAV: [keyof Texts['nav'], string][] = [
  ['overview', ''],
  ['sites', '/sites'],
  ['import', '/import'],
  ['enrollment', '/enrollment'],
  ['devices', '/devices'],
  ['alerts', '/alerts'],
  ['reports', '/reports'],
];

export const Layout: FC<{ v: View; title: string; children?: Child; scripts?: string[] }> = ({ v, title, children, scripts }) => {
  const other: Lang = v.lang === 'vi' ? 'en' : 'vi';
  const langHref = `${BASE}/lang/${other}?back=${encodeURIComponent(v.here)}`;
  return (
    <html lang={v.lang}>
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{`${title} · songcheck`}</title>
        <link rel="stylesheet" href={`${BASE}/assets/console.css`} />
        {scripts?.includes('map') && <link rel="stylesheet" href={`${BASE}/assets/leaflet.css`} />}
        {scripts?.includes('charts') && <link rel="stylesheet" href={`${BASE}/assets/uPlot.min.css`} />}
      </head>
      <body>
        <header>
          <a class="brand" href={BASE}>songcheck</a>
          {v.role && (
            <nav>
              {NAV.map(([key, path]) => (
                <a href={`${BASE}${path}`} class={(path === '' ? v.here.split('?')[0] === `${BASE}/` || v.here.split('?')[0] === BASE : v.here.startsWith(`${BASE}${path}`)) ? 'on' : ''}>
                  {v.t.nav[key]}
                </a>
              ))}
            </nav>
          )}
          <span class="who">
            <a href={langHref} id="lang-switch" hreflang={other}>{v.t.language}</a>
            {v.role && (
              <>
                <span class="role">{v.role === 'admin' ? v.t.roleAdmin : v.t.roleReport}</span>
                <form method="post" action={`${BASE}/logout`} class="inline">
                  <Csrf v={v} />
                  <button type="submit" id="sign-out">{v.t.signOut}</button>
                </form>
              </>
            )}
          </span>
        </header>
        {v.demo && <div class="demo-banner">{v.t.demoData}</div>}
        {v.role === 'report' && <div class="note">{v.t.readOnly}</div>}
        {v.flash && <div class={`flash ${v.flash.kind}`} role="status">{v.flash.text}</div>}
        <main>
          <h1>{title}</h1>
          {children}
        </main>
        {scripts?.includes('map') && <script src={`${BASE}/assets/leaflet.js`} />}
        {scripts?.includes('charts') && <script src={`${BASE}/assets/uPlot.iife.min.js`} />}
        {scripts && scripts.length > 0 && <script src={`${BASE}/assets/console.js`} />}
      </body>
    </html>
  );
};

export const Csrf: FC<{ v: View }> = ({ v }) => (v.csrf ? <input type="hidden" name="_csrf" value={v.csrf} /> : <></>);

/**
 * A form that changes something: only rendered for the admin role, always with the CSRF token. `csrfInUrl`
 * (the import forms, whose bodies may be 32 MiB) also puts the token in the action's query string, so the
 * collector checks it before reading a byte of the body.
 */
export const ChangeForm: FC<{ v: View; action: string; children?: Child; class?: string; enctype?: 'multipart/form-data'; target?: string; id?: string; csrfInUrl?: boolean }> = (p) =>
  p.v.role === 'admin' ? (
    <form method="post" action={p.csrfInUrl && p.v.csrf ? `${p.action}?_csrf=${encodeURIComponent(p.v.csrf)}` : p.action} class={p.class} enctype={p.enctype} target={p.target} id={p.id}>
      <Csrf v={p.v} />
      {p.children}
    </form>
  ) : (
    <></>
  );

export const Badge: FC<{ v: View; verdict?: Verdict }> = ({ v, verdict }) => (
  <span class={`badge v-${verdict ?? 'NONE'}`}>{v.t.verdict[verdict ?? 'NONE']}</span>
);

/** JSON for a page script, inert (type application/json) and safe inside <script>. */
export function jsonData(id: string, value: unknown) {
  const text = JSON.stringify(value).replace(/</g, '\\u003c').replace(/>/g, '\\u003e').replace(/&/g, '\\u0026');
  return raw(`<script type="application/json" id="${id}">${text}</script>`);
}

export const Empty: FC<{ text: string }> = ({ text }) => <p class="empty">{text}</p>;
