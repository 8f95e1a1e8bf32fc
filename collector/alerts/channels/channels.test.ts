// Real delivery on loopback: HTTP receivers check the webhook signature, the Telegram request and the Slack
// payload; a real SMTP server (aiosmtpd from Debian's python3-aiosmtpd) receives the e-mail.
import { type ChildProcess, spawn } from 'node:child_process';
import fs from 'node:fs';
import net, { type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ensureCommand } from '../../../scripts/system-deps.ts';
import { render } from '../templates.ts';
import { type Receiver, startReceiver } from '../test-receiver.test-support.ts';
import type { AlertMessage } from '../types.ts';
import { DeliveryError } from './channel.ts';
import { slackChannel } from './slack.ts';
import { smtpChannel } from './smtp.ts';
import { telegramChannel } from './telegram.ts';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyWebhookSignature, webhookChannel } from './webhook.ts';
import { strongToken } from '../../../test/support/secrets.ts';

const GRAFANA = 'http://grafana.test:3000';
const MESSAGE: AlertMessage = {
  kind: 'firing', at: Date.UTC(2026, 10, 24, 2, 0), ruleId: 'site-silent', ruleKind: 'site_silent', severity: 'critical',
  sites: [{ code: 'LC-001', name: 'Điểm trường Bản Xèo', summary: 'last heard 42 min ago' }],
};
const LINK = `${GRAFANA}/d/songcheck-site?var-site=LC-001`;

/** RFC 2047 encoded words (=?UTF-8?Q?...?= / =?UTF-8?B?...?=), as mail clients show them. */
function decodeWords(header: string): string {
  return header
    .replace(/\?=\s+=\?/g, '?==?')
    .replace(/=\?UTF-8\?([QB])\?([^?]*)\?=/gi, (_m, enc: string, text: string) =>
      enc.toUpperCase() === 'B' ? Buffer.from(text, 'base64').toString('utf8') : decodeQuotedPrintable(text.replace(/_/g, ' ')));
}

function decodeQuotedPrintable(text: string): string {
  const bytes = text.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/gi, (_m, hex: string) => `%${hex}`);
  return decodeURIComponent(bytes.replace(/%(?![0-9A-F]{2})/gi, '%25'));
}

let receiver: Receiver;
afterEach(async () => receiver?.close());

describe('webhook channel', () => {
  it('signs the body with HMAC-SHA256 over the timestamp and body, and a receiver can verify it', async () => {
    receiver = await startReceiver();
    const secret = 'webhook-secret-0123456789';
    const channel = webhookChannel({ id: 'hook', lang: 'vi', url: `${receiver.url}/hook`, secret }, { timeoutMs: 5000 });
    await channel.send(render(MESSAGE, 'vi', GRAFANA), MESSAGE);
    const [req] = receiver.received;
    const headers = { timestamp: req!.headers[TIMESTAMP_HEADER] as string, signature: req!.headers[SIGNATURE_HEADER] as string };
    expect(verifyWebhookSignature(secret, headers, req!.body)).toBe(true);
    // A changed body, another secret or a replay ten minutes later all fail.
    expect(verifyWebhookSignature(secret, headers, req!.body.replace('LC-001', 'LC-002'))).toBe(false);
    expect(verifyWebhookSignature('another-secret-0123456789', headers, req!.body)).toBe(false);
    expect(verifyWebhookSignature(secret, headers, req!.body, Date.now() + 10 * 60_000)).toBe(false);
    const body = JSON.parse(req!.body) as { kind: string; sites: { code: string }[]; text: string; lang: string };
    expect(body).toMatchObject({ kind: 'firing', lang: 'vi', sites: [{ code: 'LC-001' }] });
    expect(body.text).toContain('Điểm trường mất liên lạc');
    expect(body.text).toContain(LINK);
  });

  it('reports 503 as retryable and 400 as permanent', async () => {
    receiver = await startReceiver();
    receiver.script.push(503, 400);
    const channel = webhookChannel({ id: 'hook', lang: 'en', url: `${receiver.url}/hook`, secret: strongToken() }, { timeoutMs: 5000 });
    const rendered = render(MESSAGE, 'en', GRAFANA);
    await expect(channel.send(rendered, MESSAGE)).rejects.toMatchObject({ retryable: true });
    await expect(channel.send(rendered, MESSAGE)).rejects.toMatchObject({ retryable: false });
  });
});

describe('telegram channel', () => {
  it('calls sendMessage under the configured base URL with chat_id and the text', async () => {
    receiver = await startReceiver();
    const channel = telegramChannel({ id: 'tg', lang: 'vi', botToken: '123456:ABC-test', chatId: '-100200300', baseUrl: receiver.url }, { timeoutMs: 5000 });
    await channel.send(render(MESSAGE, 'vi', GRAFANA), MESSAGE);
    const [req] = receiver.received;
    expect(req!.path).toBe('/bot123456:ABC-test/sendMessage');
    expect(req!.headers['content-type']).toBe('application/json');
    const body = JSON.parse(req!.body) as { chat_id: string; text: string };
    expect(body.chat_id).toBe('-100200300');
    expect(body.text).toContain('[CẢNH BÁO] Điểm trường mất liên lạc: Điểm trường Bản Xèo (LC-001)');
    expect(body.text).toContain(LINK);
  });
});

describe('slack channel', () => {
  it('posts a Slack-compatible {"text"} payload', async () => {
    receiver = await startReceiver();
    const channel = slackChannel({ id: 'slack', lang: 'en', url: `${receiver.url}/services/T0/B0/X` }, { timeoutMs: 5000 });
    await channel.send(render(MESSAGE, 'en', GRAFANA), MESSAGE);
    const body = JSON.parse(receiver.received[0]!.body) as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['text']);
    expect(body.text).toContain('*[ALERT] Site silent: Điểm trường Bản Xèo (LC-001)*');
    expect(body.text).toContain(LINK);
  });
});

describe('smtp channel', () => {
  let smtpd: ChildProcess | undefined;
  let maildir = '';
  afterAll(() => {
    smtpd?.kill('SIGTERM');
    if (maildir) fs.rmSync(maildir, { recursive: true, force: true });
  });

  async function freePort(): Promise<number> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
  }

  async function waitForPort(port: number): Promise<void> {
    for (let i = 0; i < 100; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => { s.destroy(); resolve(true); });
        s.on('error', () => resolve(false));
      });
      if (ok) return;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`aiosmtpd did not listen on ${port} within 10 s`);
  }

  it('delivers the e-mail to a real SMTP server', async (ctx) => {
    let aiosmtpd: string;
    try {
      aiosmtpd = await ensureCommand('aiosmtpd', 'python3-aiosmtpd');
    } catch (error) {
      ctx.skip(`no SMTP server to test against: ${(error as Error).message}`);
      return;
    }
    maildir = fs.mkdtempSync(path.join(os.tmpdir(), 'songcheck-maildir-'));
    const port = await freePort();
    smtpd = spawn(aiosmtpd, ['-n', '-l', `127.0.0.1:${port}`, '-c', 'aiosmtpd.handlers.Mailbox', path.join(maildir, 'box')], { stdio: 'ignore' });
    await waitForPort(port);
    const channel = smtpChannel({ id: 'mail', lang: 'en', host: '127.0.0.1', port, secure: false, requireTls: false, from: 'alerts@songcheck.test', to: ['noc@songcheck.test'] }, { timeoutMs: 10_000 });
    try {
      await channel.send(render(MESSAGE, 'en', GRAFANA), MESSAGE);
    } finally {
      channel.close?.();
    }
    const dir = path.join(maildir, 'box', 'new');
    const files = fs.readdirSync(dir);
    expect(files).toHaveLength(1);
    const mail = fs.readFileSync(path.join(dir, files[0]!), 'utf8');
    expect(mail).toMatch(/^To: noc@songcheck\.test/m);
    const subject = /^Subject: (.*(?:\r?\n[ \t].*)*)/m.exec(mail)![1]!;
    expect(decodeWords(subject)).toBe('[ALERT] Site silent: Điểm trường Bản Xèo (LC-001)');
    expect(decodeQuotedPrintable(mail)).toContain(LINK);
  });

  it('reports an unreachable SMTP server as retryable', async () => {
    const port = await freePort();
    const channel = smtpChannel({ id: 'mail', lang: 'en', host: '127.0.0.1', port, secure: false, requireTls: false, from: 'a@b.test', to: ['c@d.test'] }, { timeoutMs: 5000 });
    const error = await channel.send(render(MESSAGE, 'en', GRAFANA), MESSAGE).catch((e: unknown) => e);
    channel.close?.();
    expect(error).toBeInstanceOf(DeliveryError);
    expect((error as DeliveryError).retryable).toBe(true);
  });
});
