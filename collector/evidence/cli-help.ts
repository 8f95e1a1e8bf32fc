// The evidence lines of `songcheck-collector help`, apart from cli.ts so the help loads nothing else.
export const EVIDENCE_HELP = `  evidence export --site CODE --period P --out FILE
                             the site's evidence pack for a period (signed results, chain heads, keys,
                             audit entries, calendar, profile, verdict); check it with songcheck-verify FILE
  evidence sweep             record the chain heads of finished days and apply the retention now`;
