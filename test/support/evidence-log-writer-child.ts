// A second collector process appending to a shared evidence log (collector/evidence/log.test.ts): argv dir,
// site, batches, writer name. Each batch is 3 entries on one day.
import { localTime } from '../../collector/school/zone.ts';
import { EvidenceLog } from '../../collector/evidence/log.ts';

const [dir, site, batches, name] = process.argv.slice(2) as [string, string, string, string];
const log = new EvidenceLog(dir, 'Asia/Ho_Chi_Minh');
const at = localTime('2026-11-24', 9 * 60, 'Asia/Ho_Chi_Minh');
// Five appends in flight at a time: group commits in this process, contending with the other processes.
for (let b = 0; b < Number(batches); b += 5) {
  await Promise.all(
    Array.from({ length: Math.min(5, Number(batches) - b) }, (_, k) =>
      log.append(site, [0, 1, 2].map((i) => ({ at, device: name, unsigned: `{"b":${b + k},"i":${i}}`, agentVersion: '0.1.0' })), at),
    ),
  );
}
