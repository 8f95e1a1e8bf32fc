// E-mail over SMTP through nodemailer, loaded on the first e-mail so the CLI and collectors without an
// SMTP channel never pay for it. Replies 4xx and connection failures are retryable; 5xx (mailbox
// refused, authentication failed) are permanent.
import type { Transporter } from 'nodemailer';
import type { Lang } from '../types.ts';
import { type Channel, DeliveryError } from './channel.ts';

export interface SmtpChannelConfig {
  id: string;
  lang: Lang;
  host: string;
  port: number;
  secure: boolean;
  requireTls: boolean;
  user?: string;
  password?: string;
  from: string;
  to: string[];
}

export function smtpChannel(c: SmtpChannelConfig, opts: { timeoutMs: number }): Channel {
  let transport: Transporter | undefined;
  const open = async (): Promise<Transporter> => {
    const { default: nodemailer } = await import('nodemailer');
    transport ??= nodemailer.createTransport({
      host: c.host, port: c.port, secure: c.secure, requireTLS: c.requireTls,
      auth: c.user ? { user: c.user, pass: c.password ?? '' } : undefined,
      connectionTimeout: opts.timeoutMs, greetingTimeout: opts.timeoutMs, socketTimeout: opts.timeoutMs,
    });
    return transport;
  };
  return {
    id: c.id,
    lang: c.lang,
    async send(rendered) {
      try {
        await (await open()).sendMail({ from: c.from, to: c.to, subject: rendered.subject, text: rendered.text });
      } catch (error) {
        const e = error as Error & { responseCode?: number; code?: string };
        const permanent = e.responseCode !== undefined && e.responseCode >= 500;
        throw new DeliveryError(`${e.code ?? 'smtp'} ${e.responseCode ?? ''}: ${e.message}`.trim(), !permanent);
      }
    },
    close: () => transport?.close(),
  };
}
