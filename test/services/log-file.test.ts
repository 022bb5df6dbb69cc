// Per-service log files: line format, size-based rotation keeping the right number of files,
// reading the last N lines across rotated files.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdir, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { LogFile, formatLogLine, readLastLines } from '../../src/services/daemon/log-file.ts';

const fresh = () => mkdtemp(path.join(tmpdir(), 'logfile-'));
const at = new Date('2024-05-06T07:08:09.010Z');

test('each output line becomes one timestamped, stream-tagged line', async () => {
  const dir = path.join(await fresh(), 'svc');
  const log = await LogFile.open(dir, { maxSize: 1 << 20, files: 3 });
  log.write('stdout', 'hello\n', at);
  log.write('stderr', 'no newline', at);
  log.write('stderr', Uint8Array.of(0x62, 0xff, 0x0a), at);
  log.write('stdout', 'two\nlines\n', at);
  await log.close();
  const text = await readFile(path.join(dir, 'current'));
  assert.deepEqual(text, Buffer.concat([
    Buffer.from('2024-05-06T07:08:09.010Z stdout hello\n2024-05-06T07:08:09.010Z stderr no newline\n'),
    Buffer.from('2024-05-06T07:08:09.010Z stderr b'), Buffer.of(0xff), Buffer.from('\n'),
    Buffer.from('2024-05-06T07:08:09.010Z stdout two\\nlines\n'),
  ]));
  assert.equal(formatLogLine(at, 'stdout', '').toString(), '2024-05-06T07:08:09.010Z stdout \n');
});

test('rotation keeps current plus at most `files` older files, each within maxSize', async () => {
  const dir = await fresh();
  const log = await LogFile.open(dir, { maxSize: 300, files: 3 });
  const lineBytes = formatLogLine(at, 'stdout', 'line 000\n').length;
  for (let i = 0; i < 100; i++) log.write('stdout', `line ${String(i).padStart(3, '0')}\n`, at);
  await log.flush();
  // A burst in one go and a trickle after a flush must rotate alike.
  for (let i = 100; i < 120; i++) { log.write('stdout', `line ${i}\n`, at); await log.flush(); }
  await log.close();
  assert.deepEqual((await readdir(dir)).sort(), ['current', 'current.1', 'current.2', 'current.3']);
  for (const f of ['current.1', 'current.2', 'current.3']) {
    const size = (await stat(path.join(dir, f))).size;
    assert.ok(size <= 300 && size > 300 - lineBytes, `${f} is full but not over: ${size}`);
  }
  const all = await readLastLines(dir, 10_000);
  const numbers = all.map((l) => Number(l.split(' ')[3]));
  assert.equal(numbers[numbers.length - 1], 119);
  numbers.forEach((n, i) => i > 0 && assert.equal(n, numbers[i - 1] + 1, 'consecutive, oldest first'));
  assert.ok(numbers.length >= 3 * Math.floor(300 / lineBytes), 'the rotated files are kept');
  assert.deepEqual((await readLastLines(dir, 3)).map((l) => l.split(' ')[3]), ['117', '118', '119']);
});

test('files: 0 keeps only current; a smaller files later prunes old ones', async () => {
  const dir = await fresh();
  const big = await LogFile.open(dir, { maxSize: 100, files: 5 });
  for (let i = 0; i < 40; i++) big.write('stdout', `x${i}`, at);
  await big.close();
  assert.equal((await readdir(dir)).length, 6);
  const small = await LogFile.open(dir, { maxSize: 100, files: 0 });
  for (let i = 0; i < 10; i++) small.write('stdout', `y${i}`, at);
  await small.close();
  assert.deepEqual(await readdir(dir), ['current']);
  assert.ok((await readLastLines(dir, 1))[0].endsWith(' stdout y9'));
});

test('reopening appends and counts the existing size; a missing directory reads as empty', async () => {
  const dir = await fresh();
  const a = await LogFile.open(dir, { maxSize: 200, files: 1 });
  for (let i = 0; i < 3; i++) a.write('stdout', `first ${i}`, at);
  await a.close();
  const b = await LogFile.open(dir, { maxSize: 200, files: 1 });
  for (let i = 0; i < 3; i++) b.write('stdout', `second ${i}`, at);
  await b.close();
  assert.deepEqual((await readdir(dir)).sort(), ['current', 'current.1']);
  assert.ok((await stat(path.join(dir, 'current.1'))).size <= 200);
  assert.deepEqual((await readLastLines(dir, 6)).map((l) => l.slice(25)),
    ['stdout first 0', 'stdout first 1', 'stdout first 2', 'stdout second 0', 'stdout second 1', 'stdout second 2']);
  assert.deepEqual(await readLastLines(path.join(dir, 'nope'), 5), []);
});

test('log folders are 0700 and files 0600, also when they existed wider; backlog drains to 0', async () => {
  const dir = path.join(await fresh(), 'svc');
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
  await writeFile(path.join(dir, 'current'), 'old\n', { mode: 0o644 });
  await chmod(path.join(dir, 'current'), 0o644);
  const log = await LogFile.open(dir, { maxSize: 40, files: 1 });
  for (let i = 0; i < 5; i++) log.write('stdout', `line ${i}\n`, at);
  assert.ok(log.backlog > 0, 'lines wait for the writer');
  await new Promise<void>((r) => log.whenDrained(r));
  assert.equal(log.backlog, 0);
  await log.close();
  assert.equal((await stat(dir)).mode & 0o777, 0o700);
  for (const f of await readdir(dir)) assert.equal((await stat(path.join(dir, f))).mode & 0o777, 0o600, f);
  assert.deepEqual((await readdir(dir)).sort(), ['current', 'current.1']);
});
