// Runs every benchmark of the project in turn; each prints its figures as JSON lines last.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const dir = path.dirname(fileURLToPath(import.meta.url));
let failed = false;
for (const f of readdirSync(dir).filter((n) => n.endsWith('.bench.ts')).sort()) {
  console.log(`## ${f}`);
  const r = spawnSync(process.execPath, ['--expose-gc', '--import', 'tsx', path.join(dir, f)], { stdio: 'inherit' });
  if (r.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
