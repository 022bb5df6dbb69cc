// The relay's own limits, in process over stream pairs: a peer that does not read its output,
// a peer holding too many assertions, and unfinished input over a shared (global) budget.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { Actor, setLogHook, type LogEntry, type Ref } from '../../src/bus/index.ts';
import { attachRelay } from '../../src/relay/relay.ts';
import { RelayBudget, DEFAULT_RELAY_LIMITS, parseSize } from '../../src/relay/limits.ts';
import { until } from './relay-harness.ts';

/** A relay exporting a dataspace over `input`/`output`; resolves with its close error. */
function serve(input: PassThrough, output: PassThrough, options: Parameters<typeof attachRelay>[3]): Promise<Error | undefined> {
  return new Promise((resolve) => {
    Actor.boot('served', (t) => {
      const ds: Ref = t.dataspace('ds');
      attachRelay(t, input, output, { ...options, exportRef: ds, onClose: (e) => resolve(e) });
    });
  });
}

function captureLogs(): { logs: LogEntry[]; restore: () => void } {
  const logs: LogEntry[] = [];
  const old = setLogHook((e) => void logs.push(e));
  return { logs, restore: () => void setLogHook(old) };
}

test('a peer that does not read its output is cut off past the pending-output limit, with one log line', async () => {
  const cap = captureLogs();
  try {
    const input = new PassThrough(), output = new PassThrough(); // nobody reads `output`
    const closed = serve(input, output, { syntax: 'text', name: 'slow', limits: { maxPendingOutput: 256 * 1024 } });
    // Each sync is answered with a packet; 40 000 of them are ~600 KB the peer never takes.
    for (let i = 0; i < 40; i++) input.write('[' + '[0 <S #:[0 0]>] '.repeat(1000) + ']');
    const e = await closed;
    assert.match(String(e?.message), /output limit: peer is not reading; more than 262144 bytes pending/);
    assert.equal(cap.logs.filter((l) => /closing connection: output limit/.test(l.message)).length, 1);
  } finally {
    cap.restore();
  }
});

test('past the assertion limit the connection is closed with an <error …> packet; below it all is kept', async () => {
  const input = new PassThrough(), output = new PassThrough();
  let got = '';
  output.on('data', (d: Buffer) => void (got += d.toString()));
  const closed = serve(input, output, { syntax: 'text', name: 'many', limits: { maxAssertions: 100 } });
  input.write('[' + Array.from({ length: 100 }, (_, i) => `[0 <A <x ${i}> ${i}>]`).join(' ') + ']');
  input.write('[[0 <S #:[0 0]>]]');
  await until(() => got.includes('<M #t>'), 'an answer with 100 assertions held');
  input.write('[[0 <A <one-too-many> 100>]]');
  assert.match(String((await closed)?.message), /assertion limit: more than 100 assertions held by one connection/);
  await until(() => got.includes('<error "assertion limit'), 'the error packet');
});

test('unfinished input over a shared budget: the connection that goes past the global limit is closed, others go on', async () => {
  const budget = new RelayBudget({ ...DEFAULT_RELAY_LIMITS, maxInputTotal: 1024 * 1024 });
  const a = { input: new PassThrough(), output: new PassThrough() };
  const b = { input: new PassThrough(), output: new PassThrough() };
  let bClosed = false;
  const aClosed = serve(a.input, a.output, { syntax: 'text', name: 'a', budget });
  void serve(b.input, b.output, { syntax: 'text', name: 'b', budget }).then(() => void (bClosed = true));
  a.input.write('[[0 <A <big "' + 'x'.repeat(700 * 1024)); // an unfinished packet: 700 KiB buffered
  await until(() => budget.inputTotal >= 700 * 1024, 'a buffered');
  b.input.write('[[0 <A <big "' + 'y'.repeat(400 * 1024)); // together past 1 MiB: b goes
  await until(() => bClosed, 'b closed');
  assert.ok(budget.inputTotal > 700 * 1024 && budget.inputTotal < 701 * 1024, 'b no longer counted');
  let got = '';
  a.output.on('data', (d: Buffer) => void (got += d.toString()));
  a.input.write('"> 1>]] [[0 <S #:[0 0]>]]');
  await until(() => got.includes('<M #t>'), 'a still served');
  a.input.end();
  await aClosed;
  assert.equal(budget.inputTotal, 0);
});

test('pending output over a shared budget: the connection that writes past the global limit is closed, the other stays', async () => {
  const budget = new RelayBudget({ ...DEFAULT_RELAY_LIMITS, maxPendingOutputTotal: 300 * 1024 });
  const limits = { maxPendingOutput: 1024 * 1024 };
  const a = { input: new PassThrough(), output: new PassThrough() }; // nobody reads either output
  const b = { input: new PassThrough(), output: new PassThrough() };
  let aClosed = false;
  void serve(a.input, a.output, { syntax: 'text', name: 'a', budget, limits }).then(() => void (aClosed = true));
  const bClosed = serve(b.input, b.output, { syntax: 'text', name: 'b', budget, limits });
  const syncs = (n: number) => '[' + '[0 <S #:[0 0]>] '.repeat(n) + ']';
  // 13 bytes per answer: 16 000 answers ≈ 200 KB pending on a, under both limits.
  for (let i = 0; i < 16; i++) a.input.write(syncs(1000));
  await until(() => (a.output.writableLength ?? 0) > 150 * 1024, 'a backed up');
  for (let i = 0; i < 16; i++) b.input.write(syncs(1000));
  assert.match(String((await bClosed)?.message), /output limit: output pending to all connections exceeds 307200 bytes/);
  assert.equal(aClosed, false, 'a is not cut off');
  a.input.end();
});

test('sizes on the command line', () => {
  assert.equal(parseSize('16M'), 16 * 1024 * 1024);
  assert.equal(parseSize('64MiB'), 64 * 1024 * 1024);
  assert.equal(parseSize('512k'), 512 * 1024);
  assert.equal(parseSize('1000'), 1000);
  assert.equal(parseSize('lots'), null);
  assert.equal(parseSize('1.5M'), null);
});
