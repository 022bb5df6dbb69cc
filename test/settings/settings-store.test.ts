// The settings folder with real files: durable writes, order per file, private modes, stale temps,
// and files that are not settings set aside and reported.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, record } from '../../src/preserves/index.ts';
import type { Assertion } from '../../src/bus/index.ts';
import { SettingsStore, type SettingsProblem } from '../../src/settings/settings-store.ts';

const ENABLED = record('mobile-data-enabled') as Assertion;
const APN = record('mobile-data-apn', 'internet') as Assertion;

/** A store on a fresh folder (removed after `body`, also on failure), recording what it reports. */
async function withStore(body: (s: SettingsStore, dir: string, problems: Map<string, string>) => Promise<void>, prepare?: (dir: string) => Promise<void>): Promise<void> {
  const top = await mkdtemp(path.join(tmpdir(), `settings-store-${process.pid}-`));
  const dir = path.join(top, 'user-settings');
  const problems = new Map<string, string>();
  try {
    await prepare?.(dir);
    const s = new SettingsStore(dir, {
      problem: (p: SettingsProblem) => void problems.set(p.file, p.message),
      problemGone: (f) => void problems.delete(f),
      note: () => {},
    });
    await s.open();
    try {
      await body(s, dir, problems);
    } finally {
      s.close();
    }
  } finally {
    await rm(top, { recursive: true, force: true });
  }
}

async function until(pred: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('set writes one 0600 file named by the hash in a 0700 folder; twice is one file; unset removes it, twice is fine', () => withStore(async (s, dir) => {
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  await s.set(ENABLED);
  await s.set(ENABLED);
  assert.deepEqual(await readdir(dir), ['8814297f352be4ebbff19137770e619b2ebc5e91.pr']);
  const f = s.fileOf(ENABLED);
  assert.equal(await readFile(f, 'utf8'), '<mobile-data-enabled>\n');
  assert.equal((await stat(f)).mode & 0o777, 0o600);
  await s.unset(ENABLED);
  await s.unset(ENABLED);
  assert.deepEqual(await readdir(dir), []);
}));

test('a looser folder is narrowed to 0700; a file with a looser mode is rewritten 0600', () => withStore(async (s, dir) => {
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  const f = s.fileOf(APN);
  await writeFile(f, '<mobile-data-apn "internet">\n', { mode: 0o644 });
  await chmod(f, 0o644);
  await s.set(APN);
  assert.equal((await stat(f)).mode & 0o777, 0o600);
}, async (dir) => {
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
}));

test('changes to one file apply in the order asked, without waiting in between', () => withStore(async (s, dir) => {
  const ops: Promise<void>[] = [];
  for (let i = 0; i < 50; i++) ops.push(i % 2 === 0 ? s.set(ENABLED) : s.unset(ENABLED));
  ops.push(s.set(APN), s.unset(APN), s.set(APN));
  await Promise.all(ops);
  assert.deepEqual((await readdir(dir)).sort(), [path.basename(s.fileOf(APN))]);
  ops.length = 0;
  for (let i = 0; i < 51; i++) ops.push(i % 2 === 0 ? s.set(ENABLED) : s.unset(ENABLED));
  await Promise.all(ops);
  assert.ok((await readdir(dir)).includes(path.basename(s.fileOf(ENABLED))));
}));

test('stale temp files are removed at open; settings stay', () => withStore(async (_s, dir) => {
  assert.deepEqual((await readdir(dir)).sort(), ['8814297f352be4ebbff19137770e619b2ebc5e91.pr']);
}, async (dir) => {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, '.8814297f352be4ebbff19137770e619b2ebc5e91.pr.tmp-1-abcd'), '<mobile-da');
  await writeFile(path.join(dir, '8814297f352be4ebbff19137770e619b2ebc5e91.pr'), '<mobile-data-enabled>\n');
}));

test('a misnamed file and a corrupt file are set aside and reported with their paths; the rest stay', () => withStore(async (s, dir, problems) => {
  const names = (await readdir(dir)).sort();
  assert.deepEqual(names, [
    '0000000000000000000000000000000000000000.pr.rejected',
    '1111111111111111111111111111111111111111.pr.rejected',
    path.basename(s.fileOf(ENABLED)),
  ].sort());
  const misnamed = path.join(dir, '0000000000000000000000000000000000000000.pr');
  const corrupt = path.join(dir, '1111111111111111111111111111111111111111.pr');
  assert.equal(problems.get(misnamed + '.rejected'), `${misnamed}: the name is not the hash of the content (that would be ${path.basename(s.fileOf(APN))}); set aside as 0000000000000000000000000000000000000000.pr.rejected`);
  assert.equal(problems.get(corrupt + '.rejected'), `${corrupt}:1:21: unexpected end of input; set aside as 1111111111111111111111111111111111111111.pr.rejected`);

  // Later arrivals too, once they are written whole; removing a set-aside file clears its problem.
  const late = path.join(dir, 'ffffffffffffffffffffffffffffffffffffffff.pr');
  await writeFile(late, '<mobile-data');
  await writeFile(late, '<mobile-data-enabled>\n');
  await until(() => problems.has(late + '.rejected'), 'the late misnamed file to be reported');
  assert.match(problems.get(late + '.rejected')!, /the name is not the hash of the content/);
  await rm(late + '.rejected');
  await until(() => !problems.has(late + '.rejected'), 'the problem to go');
  // Our own writes are never set aside: a misnamed file written after ours is reported, ours stays.
  await s.set(APN);
  await writeFile(late, '<b>\n');
  await until(() => problems.has(late + '.rejected'), 'the second late file to be reported');
  assert.ok((await readdir(dir)).includes(path.basename(s.fileOf(APN))));
}, async (dir) => {
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, '0000000000000000000000000000000000000000.pr'), '<mobile-data-apn "internet">\n');
  await writeFile(path.join(dir, '1111111111111111111111111111111111111111.pr'), '<mobile-data-enabled');
  await writeFile(path.join(dir, '8814297f352be4ebbff19137770e619b2ebc5e91.pr'), '<mobile-data-enabled>\n');
}));

test('items that need care in a script are kept and read back', () => withStore(async (s, dir) => {
  const items: Assertion[] = ['\uFEFFleading mark', parse('[$x ?y _]') as Assertion, parse('{ssid: "x" psk: "y"}') as Assertion];
  for (const v of items) await s.set(v);
  assert.equal((await readdir(dir)).length, 3);
  assert.equal(await readFile(s.fileOf(items[1]), 'utf8'), '+= [=$x =?y =_]\n');
}));
