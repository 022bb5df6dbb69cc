// Config watcher: 1 000 files to ready, and drop-a-file to first assertion visible, against
// the same files read and parsed without the bus (baseline).
import { mkdtemp, rm, writeFile, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Embedded } from '../src/preserves/index.ts';
import { Actor, Dataspace, P, settle, type Ref } from '../src/bus/index.ts';
import { startConfigWatcher } from '../src/config-lang/config-watcher.ts';
import { listScripts } from '../src/config-lang/script-files.ts';
import { loadScriptText } from '../src/config-lang/script-file.ts';
import { figure, report, type Figure } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const FILES = 1000;
const DROPS = 100;

const now = () => Number(process.hrtime.bigint()) / 1e6;

function script(i: number): string {
  return `<service-config s${i} {port: ${8000 + i}}>\n<depends-on <daemon s${i}> <service-state <milestone core> up>>\n` +
    `? <run-service <daemon s${i}>> [ <service-state <daemon s${i}> ready> ]\n`;
}

/** Starts a watcher on `dir`; resolves with the time to ready and a way to see assertions. */
async function watcher(dir: string) {
  const space = new Dataspace('config');
  const arrivals = new Map<string, () => void>();
  let ready!: () => void;
  const isReady = new Promise<void>((r) => (ready = r));
  const t0 = now();
  const actor = Actor.boot('bench-watcher', (t) => {
    const config: Ref = t.ref(space);
    t.onMessage(config, P.rec('never'), () => {});
    t.observe(config, P.rec('dropped', P.bind()), { added: (_t, [n]) => arrivals.get(String(n))?.() });
    t.facet((t) => startConfigWatcher(t, dir, new Map([['config', new Embedded<Ref>(config)]]), { onReady: () => ready() }));
  });
  await isReady;
  const readyMs = now() - t0;
  return { readyMs, space, arrivals, stop: async () => { actor.root.turn((t) => t.stopActor()); await settle(); } };
}

/** Runs the benchmark and returns its figures. */
export async function bench(): Promise<Figure[]> {
  const dir = await mkdtemp(path.join(tmpdir(), 'config-bench-'));
  for (let i = 0; i < FILES; i++) await writeFile(path.join(dir, `s${String(i).padStart(4, '0')}.pr`), script(i));

  // Baseline: list, read and parse the same files, no bus and no watching.
  const b0 = now();
  const files = await listScripts(dir);
  for (const f of files) loadScriptText(await readFile(f, 'utf8'), f);
  const baselineMs = now() - b0;

  await (await watcher(dir)).stop(); // warm-up
  const w = await watcher(dir);
  await settle(); // ready means every script started; their assertions reach the space in the turns after
  const count = [...w.space.assertions()].length;
  if (count < FILES * 2) throw new Error(`expected at least ${FILES * 2} assertions, saw ${count}`);

  const drops: number[] = [];
  for (let i = 0; i < DROPS; i++) {
    const seen = new Promise<void>((r) => w.arrivals.set(String(i), r));
    const t0 = now();
    await writeFile(path.join(dir, `drop${i}.pr`), `<dropped ${i}>\n`);
    await seen;
    drops.push(now() - t0);
  }
  await w.stop();
  await rm(dir, { recursive: true, force: true });
  drops.sort((a, b) => a - b);
  const pct = (p: number) => drops[Math.min(drops.length - 1, Math.floor(p * drops.length))];
  return [
    figure('config', `${FILES} files to ready`, w.readyMs, 'ms', baselineMs),
    figure('config', 'drop-to-visible median', pct(0.5), 'ms'),
    figure('config', 'drop-to-visible p99', pct(0.99), 'ms'),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(await bench());
