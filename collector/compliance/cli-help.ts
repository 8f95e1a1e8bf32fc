// The compliance lines of `songcheck-collector help`, apart from cli.ts so the help loads nothing else.
export const COMPLIANCE_HELP = `  report --period P [--format json|csv|html] [--lang vi|en] [--site CODE ...] [--out FILE]
                             verdicts for a period: a day (2026-11-24), an ISO week (2026-W48), a month
                             (2026-11) or rolling30; html is the province's printable report (Vietnamese
                             by default); stdout unless --out
  compliance run --period P  compute the verdicts now and store them as compliance points (also done
                             nightly by serve, see SONGCHECK_COMPLIANCE_SCHEDULE)`;
