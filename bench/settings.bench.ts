// User settings: a `set` through the real daemon (RPC asserted in $config, daemon writes the file
// durably, answers `done`), then the file published back by the config watcher as
// <user-setting X>. Baseline: one durable write (temp, write, fsync, rename, fsync folder) of the
// same bytes in the same folder, the least a durable set can cost.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { record } from '../src/preserves/index.ts';
import { P, showAssertion, type Assertion } from '../src/bus/index.ts';
import { writeFileDurable } from '../src/config-lang/durable-file.ts';
import { settingFileText } from '../src/settings/setting-file.ts';
import { Bus, SettingsRoot } from '../test/settings/bus-harness.ts';
import { figure, report, type Figure } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const RUNS = 200;
const now = () => Number(process.hrtime.bigint()) / 1e6;
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const item = (i: number): Assertion => record('bench-setting', i, 'wpa-psk', 'a pass phrase') as Assertion;

/** Runs the benchmark and returns its figures. */
export async function bench(): Promise<Figure[]> {
  const root = await SettingsRoot.create();
  const scratch = await mkdtemp(path.join(tmpdir(), `settings-bench-${process.pid}-`));
  const bus = await Bus.start(root);
  try {
    const waiting = new Map<string, () => void>();
    await bus.client.turn((t) => t.observe(bus.config, P.rec('user-setting', P.bind()), {
      added: (_t, [v]) => waiting.get(showAssertion(v))?.(),
    }));
    const acked: number[] = [], visible: number[] = [], raw: number[] = [];
    for (let i = 0; i < RUNS + 10; i++) {
      const v = item(i);
      const seen = new Promise<void>((r) => waiting.set(showAssertion(v), r));
      const t0 = now();
      const answer = await bus.rpc({ kind: 'assert', item: v });
      const t1 = now();
      await seen;
      const t2 = now();
      if (answer !== 'done') throw new Error('set failed: ' + answer);
      // The same bytes, written durably by hand in a folder on the same file system.
      const t3 = now();
      await writeFileDurable(path.join(scratch, `${i}.pr`), settingFileText(v));
      const t4 = now();
      if (i < 10) continue; // warm-up
      acked.push(t1 - t0);
      visible.push(t2 - t0);
      raw.push(t4 - t3);
    }
    const base = pct(raw, 0.5);
    return [
      figure('settings', 'set acknowledged (on disk), median', pct(acked, 0.5), 'ms', base),
      figure('settings', 'set acknowledged (on disk), p99', pct(acked, 0.99), 'ms', pct(raw, 0.99)),
      figure('settings', 'set to <user-setting> visible, median', pct(visible, 0.5), 'ms', base),
      figure('settings', 'set to <user-setting> visible, p99', pct(visible, 0.99), 'ms', pct(raw, 0.99)),
    ];
  } finally {
    await bus.stop();
    await root.remove();
    await rm(scratch, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) report(await bench());
