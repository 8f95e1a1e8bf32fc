// The console's browser files: its own stylesheet and script (collector/console/static/) and the two
// libraries it uses, Leaflet and uPlot, read from their npm packages in node_modules — never a CDN, so
// the console works on a province network without Internet. Read once at start, served with an ETag.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Context } from 'hono';

const require = createRequire(import.meta.url);
const pkg = (name: string) => dirname(require.resolve(`${name}/package.json`));
const here = dirname(fileURLToPath(import.meta.url));

const FILES: Record<string, { path: () => string; type: string }> = {
  'console.css': { path: () => join(here, 'static', 'console.css'), type: 'text/css; charset=utf-8' },
  'console.js': { path: () => join(here, 'static', 'console.js'), type: 'text/javascript; charset=utf-8' },
  'leaflet.js': { path: () => join(pkg('leaflet'), 'dist', 'leaflet.js'), type: 'text/javascript; charset=utf-8' },
  'leaflet.css': { path: () => join(pkg('leaflet'), 'dist', 'leaflet.css'), type: 'text/css; charset=utf-8' },
  'uPlot.iife.min.js': { path: () => join(pkg('uplot'), 'dist', 'uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: () => join(pkg('uplot'), 'dist', 'uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  for (const [name, f] of Object.entries(FILES)) {
    const body = readFileSync(f.path());
    assets.set(name, { body, type: f.type, etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 16)}"` });
  }
  return assets;
}

export function serveAsset(c: Context, assets: Map<string, Asset>, name: string): Response {
  const a = assets.get(name);
  if (!a) return c.text('not found', 404);
  const headers = { 'content-type': a.type, etag: a.etag, 'cache-control': 'public, max-age=3600', 'x-content-type-options': 'nosniff' };
  if (c.req.header('if-none-match') === a.etag) return c.body(null, 304, headers);
  return c.body(new Uint8Array(a.body), 200, headers);
}
