// Debian's Chromium driven by playwright-core, for the console's browser tests. The browser is the system
// package (installed with apt when missing and we are root, like influxd), never a downloaded build; each
// browser gets a fresh profile directory and no network besides loopback (no QUIC, no background fetches).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';
import { ensureCommand } from '../../scripts/system-deps.ts';

export interface OpenedBrowser {
  context: BrowserContext;
  close(): Promise<void>;
}

/** One Chromium with its own fresh profile (playwright takes the profile directory as a parameter, not as --user-data-dir). */
export async function openChromium(viewport = { width: 1280, height: 900 }): Promise<OpenedBrowser> {
  const executablePath = await ensureCommand('chromium', 'chromium');
  const profile = mkdtempSync(join(tmpdir(), 'songcheck-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport,
    locale: 'vi-VN',
    timeout: 60_000,
  });
  return {
    context,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
