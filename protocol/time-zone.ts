// Time zones in the agent configuration (probes.throughput.options.schedule.timeZone). Here, not in the
// throughput probe, because the configuration schema checks a zone and both sides parse that schema: the
// agent at start-up, the collector when an operator pushes a configuration. The fixed-offset table is what
// keeps the agent free of ICU's zone data for the zones it actually meets (docs/architecture.md measures it).

/**
 * Zones with one UTC offset all year (no daylight saving, unchanged for decades), in minutes. For these the
 * local time is plain arithmetic: the first Intl call with a time zone loads ICU's zone data, about 8 MB
 * resident in an agent that should stay near 60 MB. Any other IANA zone still works, through Intl.
 */
export const FIXED_OFFSET_ZONES: Readonly<Record<string, number>> = {
  UTC: 0,
  'Etc/UTC': 0,
  'Asia/Ho_Chi_Minh': 420,
  'Asia/Saigon': 420,
  'Asia/Bangkok': 420,
  'Asia/Phnom_Penh': 420,
  'Asia/Vientiane': 420,
  'Asia/Jakarta': 420,
  'Asia/Yangon': 390,
  'Asia/Kolkata': 330,
  'Asia/Dhaka': 360,
  'Asia/Manila': 480,
  'Asia/Singapore': 480,
  'Asia/Kuala_Lumpur': 480,
  'Asia/Shanghai': 480,
  'Asia/Tokyo': 540,
  'Africa/Nairobi': 180,
  'Africa/Lagos': 60,
  'Africa/Johannesburg': 120,
};

/** A zone of the table, or any IANA zone this Node knows (the second costs ICU's zone data, once). */
export function isValidTimeZone(tz: string): boolean {
  if (Object.hasOwn(FIXED_OFFSET_ZONES, tz)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
