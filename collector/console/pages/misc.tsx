// Sign-in, alerts, reports and error pages.
import type { FC } from 'hono/jsx';
import type { ChannelHealth } from '../../alerts/dispatcher.ts';
import type { AlertState, Silence } from '../../alerts/store.ts';
import { dateTime } from '../i18n.ts';
import { BASE, Empty, Layout, type View } from '../layout.tsx';
import { type PeriodChoice, PeriodPicker } from './overview.tsx';
import { AlertTable } from './sites.tsx';

export const LoginPage: FC<{ v: View; error?: string; back?: string }> = ({ v, error, back }) => (
  <Layout v={v} title={v.t.signIn}>
    <form method="post" action={`${BASE}/login`} class="login" id="login-form">
      {back && <input type="hidden" name="back" value={back} />}
      <label>{v.t.token}<br /><input type="password" name="token" required autocomplete="current-password" autofocus /></label>
      <button type="submit" id="sign-in">{v.t.signIn}</button>
      <p class="hint">{v.t.signInHelp}</p>
      {error && <div class="flash error" role="alert">{error}</div>}
    </form>
  </Layout>
);

export const AlertsPage: FC<{ v: View; enabled: boolean; firing: AlertState[]; recent: AlertState[]; silences: Silence[]; channels: ChannelHealth[]; now: number }> = ({ v, enabled, firing, recent, silences, channels, now }) => (
  <Layout v={v} title={v.t.nav.alerts}>
    {!enabled ? <Empty text={v.t.alertsOff} /> : (
      <>
        <section id="firing">
          <h2>{v.t.firing} ({firing.length})</h2>
          {firing.length === 0 ? <Empty text={v.t.noAlerts} /> : <AlertTable v={v} alerts={firing} now={now} silence />}
        </section>
        <section id="recent">
          <h2>{v.t.recent}</h2>
          {recent.length === 0 ? <Empty text={v.t.noAlerts} /> : <AlertTable v={v} alerts={recent} now={now} />}
        </section>
        <section id="silences">
          <h2>{v.t.silences} ({silences.length})</h2>
          {silences.length === 0 ? <Empty text={v.t.noData} /> : (
            <table>
              <thead><tr><th>{v.t.rule}</th><th>{v.t.site}</th><th>{v.t.until}</th><th>{v.t.reason}</th></tr></thead>
              <tbody>{silences.map((s) => <tr><td>{s.ruleId ?? '*'}</td><td>{s.siteCode ?? s.groupKey ?? '*'}</td><td>{dateTime(s.until, v.timeZone, v.lang)}</td><td>{s.reason ?? ''} ({s.createdBy})</td></tr>)}</tbody>
            </table>
          )}
        </section>
        <section id="channels">
          <h2>{v.t.channels}</h2>
          {channels.length === 0 ? <Empty text={v.t.noChannels} /> : (
            <table>
              <tbody>
                {channels.map((c) => (
                  <tr class={c.failing ? 'bad' : ''}><td>{c.id}</td><td>{c.failing ? v.t.channelFailing : v.t.channelOk}</td><td>{c.consecutiveFailures}</td><td>{c.lastError ?? ''}</td></tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      </>
    )}
  </Layout>
);

export const ReportsPage: FC<{ v: View; period: PeriodChoice; evidence: boolean }> = ({ v, period, evidence }) => {
  const p = encodeURIComponent(period.label);
  return (
    <Layout v={v} title={v.t.reportsTitle}>
      <PeriodPicker v={v} period={period} action={`${BASE}/reports`} />
      <section>
        <h2>{v.t.monthly} — {period.label}</h2>
        <ul class="links">
          <li><a href={`${BASE}/reports/report.html?period=${p}&lang=${v.lang}`} id="report-html" target="_blank">{v.t.html}</a></li>
          <li><a href={`${BASE}/reports/report.csv?period=${p}`} id="report-csv">{v.t.csv}</a></li>
        </ul>
      </section>
      <section>
        <h2>{v.t.evidence}</h2>
        {evidence ? (
          <form method="get" action={`${BASE}/reports/evidence`} class="filters" id="evidence-form">
            <input type="hidden" name="period" value={period.label} />
            <label>{v.t.site} <input name="site" required pattern="[A-Za-z0-9][A-Za-z0-9._\-]{0,63}" /></label>
            <button type="submit">{v.t.evidence}</button>
          </form>
        ) : <Empty text={v.t.evidenceMissing} />}
      </section>
    </Layout>
  );
};

export const MessagePage: FC<{ v: View; title: string; text: string }> = ({ v, title, text }) => (
  <Layout v={v} title={title}>
    <p class="flash error" role="alert">{text}</p>
    <p><a href={BASE}>{v.t.back}</a></p>
  </Layout>
);
