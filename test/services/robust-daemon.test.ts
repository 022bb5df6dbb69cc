// The daemon service under faults, through real buses (syndicate-server as a process): spawn
// failures at a low descriptor limit, a chatty daemon, setsid escapees, and a bus killed with
// SIGKILL whose successor must stop what it left before starting anything.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse } from '../../src/preserves/index.ts';
import type { Assertion, Handle } from '../../src/bus/index.ts';
import { cgroup2Mount, daemonCgroupPath, removeCgroupTree } from '../../src/services/daemon/cgroup.ts';
import { daemonService } from '../../src/services/supervision/daemon-service.ts';
import { daemonRegistry } from '../../src/services/supervision/daemon-registry.ts';
import { recoverLeftovers } from '../../src/services/daemon/leftovers.ts';
import { Service } from '../../src/services/supervision/service-protocol.ts';
import { shutdownSystem } from '../../src/services/shutdown.ts';
import { testSystem } from './service-harness.ts';

const BIN = path.resolve(import.meta.dirname, '../../bin/syndicate-server.js');
const v = (s: string) => parse(s) as Assertion;
/** Unique numbers for `sleep N` so this test's processes can be told from every other's. */
const TOKEN = 3_000_000 + process.pid;

/** True when cgroup v2 is writable here (root): the escapee tests need it. */
function cgroupsWork(): boolean {
  return process.getuid?.() === 0 && cgroup2Mount() !== null;
}

/** Pids of live processes whose command line contains `needle`. */
function procsWith(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'latin1').replaceAll('\0', ' ');
      const stat = readFileSync(`/proc/${name}/stat`, 'latin1');
      const state = stat.slice(stat.lastIndexOf(')') + 2)[0];
      if (cmd.includes(needle) && state !== 'Z' && state !== 'X') out.push(Number(name));
    } catch { /* gone */ }
  }
  return out;
}

/** Polls `f` (there is no event for "a process appeared") until it returns a value, up to 30 s. */
async function until<T>(what: string, f: () => T | undefined | false | Promise<T | undefined | false>): Promise<T> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const x = await f();
    if (x !== undefined && x !== false) return x;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** The leader pids in the pid files of daemon `id` under the state folder. */
function daemonPids(state: string, id: string): number[] {
  const dir = path.join(state, 'pids');
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((n) => n.startsWith(`daemon_${id}.`)).map((n) => {
    try { return Number(readFileSync(path.join(dir, n), 'utf8').split(' ')[0]); } catch { return 0; }
  }).filter((p) => p > 0 && procsWith('').includes(p));
}

interface Bus {
  proc: ChildProcess;
  stderr: () => string;
  exit: Promise<number | null>;
}

/** Starts a real bus on `state` and `conf` (plus `args`), optionally under `ulimit -n`, stderr kept (or dropped). */
function startBus(state: string, conf: string, options: { fdLimit?: number; keepStderr?: boolean; args?: readonly string[] } = {}): Bus {
  const cmd = `${options.fdLimit !== undefined ? `ulimit -n ${options.fdLimit}; ` : ''}exec "$0" "$@"`;
  const proc = spawn('sh', ['-c', cmd, process.execPath, BIN, '--state', state, '-c', conf, ...(options.args ?? [])],
    { stdio: ['ignore', 'ignore', options.keepStderr === false ? 'ignore' : 'pipe'] });
  let text = '';
  proc.stderr?.on('data', (b: Buffer) => { if (text.length < 1 << 20) text += b.toString(); });
  const exit = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
  return { proc, stderr: () => text, exit };
}

/** Kills buses and everything they left, removes the cgroups and the folder. */
async function cleanUp(dir: string, state: string, buses: Bus[]): Promise<void> {
  for (const b of buses) if (b.proc.exitCode === null && b.proc.signalCode === null) b.proc.kill('SIGKILL');
  await Promise.all(buses.map((b) => b.exit));
  await recoverLeftovers(state, 1000);
  const cg = daemonCgroupPath(state);
  if (cg !== null) await removeCgroupTree(cg);
  await rm(dir, { recursive: true, force: true });
}

async function setUp(prefix: string, script: string): Promise<{ dir: string; state: string; conf: string }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  const state = path.join(dir, 'state');
  const conf = path.join(dir, 'conf');
  await mkdir(conf);
  await writeFile(path.join(conf, 'daemons.pr'), script);
  return { dir, state, conf };
}

test('at a low descriptor limit, a respawn that hits EMFILE is failed and retried; the bus and its other daemons carry on', async () => {
  const { dir, state, conf } = await setUp('robust-emfile-', [
    '<require-service <daemon s1>>', `<daemon s1 {argv: "exec sleep ${TOKEN}1" restartDelay: 0.2 restartMaxDelay: 1}>`,
    '<require-service <daemon s2>>', `<daemon s2 "exec sleep ${TOKEN}2">`, '',
  ].join('\n'));
  // The listener connection limits (by default a quarter of the descriptors: 20 here) would refuse
  // the connections below before the descriptors run out; raised, so EMFILE is what stops them.
  const bus = startBus(state, conf, { fdLimit: 80, args: ['--max-connections', '1000', '--max-connections-total', '1000'] });
  const sockets: net.Socket[] = [];
  try {
    const s1 = await until('s1 running', () => daemonPids(state, 's1')[0]);
    const s2 = await until('s2 running', () => daemonPids(state, 's2')[0]);
    // Use up the bus's descriptors: connections to its control socket until it has none left.
    const fdCount = () => readdirSync(`/proc/${bus.proc.pid}/fd`).length;
    for (let i = 0; i < 120 && fdCount() < 80; i++) {
      const sock = net.connect(path.join(state, 'control.sock'));
      sock.on('error', () => {});
      sockets.push(sock);
      await new Promise((r) => { sock.once('connect', r); sock.once('error', r); setTimeout(r, 100); });
    }
    // A loaded machine can leave connections in the backlog past each connect's wait: the bus
    // takes them a little later, so wait for its descriptors rather than count them at once.
    await until("the bus's descriptors used up (78 of its 80)", () => fdCount() >= 78);
    process.kill(s1, 'SIGKILL');
    const log = path.join(state, 'log/daemon_s1/current');
    await until('an EMFILE spawn failure logged', async () => existsSync(log) && (await readFile(log, 'utf8')).includes('(EMFILE)'));
    assert.equal(bus.proc.exitCode, null, `the bus still runs:\n${bus.stderr()}`);
    assert.deepEqual(daemonPids(state, 's2'), [s2], 's2 untouched');
    assert.match(bus.stderr(), /<daemon s1>: failed/);
    for (const s of sockets) s.destroy();
    const again = await until('s1 restarted once descriptors are free', () => daemonPids(state, 's1').find((p) => p !== s1));
    assert.ok(again > 0);
    assert.match(bus.stderr(), /<daemon s1>\[unknown\] daemon: cannot start program "sh": too many open files in the bus \(EMFILE\); attempt \d+ failed, next in/);
    assert.doesNotMatch(bus.stderr(), /is not iterable|Unhandled 'error'/);
    bus.proc.kill('SIGTERM');
    assert.equal(await bus.exit, 0, bus.stderr());
    assert.match(bus.stderr(), /stopped \d+ services in \d+ ms\n$/);
  } finally {
    for (const s of sockets) s.destroy();
    await cleanUp(dir, state, [bus]);
  }
});

test('a chatty daemon for 10 s: bus RSS stays under 180 MB, the log rotates within its limit, the bus still serves', async (t) => {
  const { dir, state, conf } = await setUp('robust-chatty-', [
    '<require-service <daemon chatty>>', '<daemon chatty {argv: ["yes" "chatty output line"] logMaxSize: 200000 logFiles: 2}>',
    '<require-service <daemon quiet>>', `<daemon quiet "exec sleep ${TOKEN}3">`, '',
  ].join('\n'));
  const RSS_BOUND = 180 * 1024 * 1024; // measured: ~120 MB bounded, ~235 MB and growing without back-pressure
  const bus = startBus(state, conf, { keepStderr: false }); // the console would get every line
  try {
    const quiet = await until('quiet running', () => daemonPids(state, 'quiet')[0]);
    await until('chatty running', () => daemonPids(state, 'chatty')[0]);
    const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${bus.proc.pid}/status`, 'utf8'))![1]) * 1024;
    let max = 0;
    const end = Date.now() + 10_000; // the workload's length, not an assertion on time
    while (Date.now() < end) {
      max = Math.max(max, rss());
      await new Promise((r) => setTimeout(r, 200));
    }
    t.diagnostic(`peak bus RSS ${(max / 1048576).toFixed(1)} MB`);
    assert.ok(max < RSS_BOUND, `bus RSS peaked at ${(max / 1048576).toFixed(1)} MB (bound ${RSS_BOUND / 1048576} MB)`);
    const logDir = path.join(state, 'log/daemon_chatty');
    const files = readdirSync(logDir).sort();
    assert.deepEqual(files.filter((f) => !['current', 'current.1', 'current.2'].includes(f)), [], `only current and 2 rotated: ${files}`);
    assert.ok(files.includes('current.1'), 'it rotated');
    for (const f of files) {
      const st = statSync(path.join(logDir, f));
      assert.ok(st.size <= 200000, `${f} is ${st.size} bytes`);
      assert.equal(st.mode & 0o777, 0o600, `${f} is 0600`);
    }
    assert.equal(statSync(logDir).mode & 0o777, 0o700, 'log folder 0700');
    assert.deepEqual(daemonPids(state, 'quiet'), [quiet], 'the quiet daemon is untouched');
    bus.proc.kill('SIGTERM');
    assert.equal(await bus.exit, 0);
  } finally {
    await cleanUp(dir, state, [bus]);
  }
});

test('stopping a daemon ends its setsid escapees too (cgroup)', { skip: !cgroupsWork() && 'needs writable cgroup v2 (root)' }, async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'robust-escape-'));
  const s = await testSystem({ services: (config, log) => [daemonService(config, log, { stateDir: dir })] });
  try {
    let h: Handle = 0;
    await s.act((t) => {
      h = t.assert(s.system.config, Service.require(v('<daemon esc>')));
      t.assert(s.system.config, v(`<daemon esc "(setsid sleep ${TOKEN}4 &); exec sleep ${TOKEN}5">`));
    });
    await until('the escapee runs', () => procsWith(`sleep ${TOKEN}4`).length === 1);
    await s.act((t) => t.retract(h));
    await daemonRegistry(s.system.config).ops.idle();
    assert.deepEqual(procsWith(`sleep ${TOKEN}4`), [], 'no escapee left');
    assert.deepEqual(procsWith(`sleep ${TOKEN}5`), []);
  } finally {
    await shutdownSystem(s.system);
    await recoverLeftovers(dir, 1000);
    const cg = daemonCgroupPath(dir);
    if (cg !== null) await removeCgroupTree(cg);
    await rm(dir, { recursive: true, force: true });
  }
});

test('kill -9 of a bus, then a new bus on the same state: what the old one left is stopped first, one copy of each daemon', async () => {
  const escapes = cgroupsWork();
  const { dir, state, conf } = await setUp('robust-kill9-', [
    '<require-service <daemon a>>', `<daemon a "exec sleep ${TOKEN}6">`,
    '<require-service <daemon b>>', `<daemon b "${escapes ? `(setsid sleep ${TOKEN}7 &); ` : ''}exec sleep ${TOKEN}8">`, '',
  ].join('\n'));
  const first = startBus(state, conf);
  let second: Bus | null = null;
  try {
    await until('a and b run', () => procsWith(`sleep ${TOKEN}6`).length === 1 && procsWith(`sleep ${TOKEN}8`).length === 1);
    if (escapes) await until('the escapee runs', () => procsWith(`sleep ${TOKEN}7`).length === 1);
    const old = [...procsWith(`sleep ${TOKEN}6`), ...procsWith(`sleep ${TOKEN}7`), ...procsWith(`sleep ${TOKEN}8`)];
    first.proc.kill('SIGKILL');
    await first.exit;
    assert.deepEqual([...procsWith(`sleep ${TOKEN}6`), ...procsWith(`sleep ${TOKEN}7`), ...procsWith(`sleep ${TOKEN}8`)], old,
      'the killed bus left its daemons running');
    second = startBus(state, conf);
    const bus2 = second;
    await until('a and b run again', () => {
      const a = procsWith(`sleep ${TOKEN}6`), b = procsWith(`sleep ${TOKEN}8`);
      return a.length === 1 && b.length === 1 && !old.includes(a[0]) && !old.includes(b[0]);
    });
    assert.match(bus2.stderr(), /stopped \d+ process\(es\) left by a previous bus: daemon_a, daemon_b/);
    for (const p of old) assert.ok(!procsWith('').includes(p), `old process ${p} is gone`);
    if (escapes) {
      await until('the new escapee runs', () => procsWith(`sleep ${TOKEN}7`).length === 1);
      assert.ok(!old.includes(procsWith(`sleep ${TOKEN}7`)[0]), 'the old escapee was stopped; this is the new bus\'s');
    }
    assert.equal(procsWith(`sleep ${TOKEN}6`).length, 1, 'exactly one a');
    assert.equal(procsWith(`sleep ${TOKEN}8`).length, 1, 'exactly one b');
    bus2.proc.kill('SIGTERM');
    assert.equal(await bus2.exit, 0, bus2.stderr());
    assert.deepEqual([...procsWith(`sleep ${TOKEN}6`), ...procsWith(`sleep ${TOKEN}7`), ...procsWith(`sleep ${TOKEN}8`)], [], 'nothing left after a clean stop');
    const cg = daemonCgroupPath(state);
    if (cg !== null) assert.ok(!existsSync(cg), 'its cgroups are removed at stop');
  } finally {
    await cleanUp(dir, state, second !== null ? [first, second] : [first]);
  }
});

test('shutdown reports only real transitions and ends with one line', async () => {
  const { dir, state, conf } = await setUp('robust-shutdown-', [
    '<require-service <milestone m>>', '<depends-on <milestone m> <service-state <daemon base> up>>',
    '? <run-service <milestone ?m>> [<service-state <milestone $m> started> <service-state <milestone $m> ready>]',
    '? <service-state ?x ready> <service-state $x up>', '? <service-state ?x complete> <service-state $x up>',
    '<require-service <daemon base>>', `<daemon base "exec sleep ${TOKEN}9">`,
    '<require-service <daemon top>>', '<depends-on <daemon top> <service-state <milestone m> up>>', `<daemon top "exec sleep ${TOKEN}0">`,
    '<require-service <daemon gone>>', '<daemon gone "no-such-program-robust">', '',
  ].join('\n'));
  const bus = startBus(state, conf);
  try {
    await until('top runs', () => bus.stderr().includes('<daemon top>: ready'));
    // A missing program: one console line per failed attempt (plus the one state change), never started.
    await until('two attempts of gone', () => bus.stderr().split('attempt 2 failed').length > 1);
    const gone = bus.stderr().split('\n').filter((l) => l.includes('<daemon gone>'));
    const attempts = gone.filter((l) => /cannot start program "no-such-program-robust": not found \(ENOENT\); attempt \d+ failed, next in /.test(l));
    assert.deepEqual(gone.filter((l) => !attempts.includes(l)), ['<daemon gone>: failed'], gone.join('\n'));
    const before = bus.stderr().length;
    bus.proc.kill('SIGTERM');
    assert.equal(await bus.exit, 0, bus.stderr());
    const after = bus.stderr().slice(before).trimEnd().split('\n');
    const last = after.pop()!;
    assert.match(last, /^stopped \d+ services in \d+ ms$/);
    const bad = after.filter((l) => !/: no longer (started|ready|failed|complete)$/.test(l));
    assert.deepEqual(bad, [], 'only services going away, nothing started or completed');
    assert.ok(after.includes('<daemon top>: no longer ready'));
  } finally {
    await cleanUp(dir, state, [bus]);
  }
});

test('recovery by pid file: a live group with the recorded start time is stopped; a reused pid is never touched', async () => {
  const dir = await mkdtemp(path.join(tmpdir(), 'robust-pidfile-'));
  const ours = spawn('sh', ['-c', `sleep ${TOKEN}1 & exec sleep ${TOKEN}2`], { detached: true, stdio: 'ignore' });
  const stranger = spawn('sleep', [`${TOKEN}3`], { detached: true, stdio: 'ignore' });
  try {
    await until('both run', () => procsWith(`sleep ${TOKEN}1`).length === 1 && procsWith(`sleep ${TOKEN}3`).length === 1);
    const start = (pid: number) => readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1].split(' ')[19];
    await mkdir(path.join(dir, 'pids'));
    await writeFile(path.join(dir, 'pids/daemon_ours.1'), `${ours.pid} ${start(ours.pid!)} ${ours.pid} -\n`);
    // The same pid with another start time: a process that merely reuses the number.
    await writeFile(path.join(dir, 'pids/daemon_reused.2'), `${stranger.pid} 1 ${stranger.pid} -\n`);
    const report = await recoverLeftovers(dir, 2000);
    assert.deepEqual(report.daemons, ['daemon_ours']);
    assert.deepEqual(procsWith(`sleep ${TOKEN}1`), [], 'the whole group is stopped');
    assert.deepEqual(procsWith(`sleep ${TOKEN}2`), []);
    assert.equal(procsWith(`sleep ${TOKEN}3`).length, 1, 'the stranger runs on');
    assert.deepEqual(readdirSync(path.join(dir, 'pids')), [], 'pid files removed');
  } finally {
    for (const p of [ours, stranger]) try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ }
    await rm(dir, { recursive: true, force: true });
  }
});

test('a second bus on the same state touches nothing of the running one and starts nothing', async () => {
  const { dir, state, conf } = await setUp('robust-second-', ['<require-service <daemon one>>', `<daemon one "exec sleep ${TOKEN}4">`, ''].join('\n'));
  const first = startBus(state, conf);
  let second: Bus | null = null;
  try {
    const pid = await until('one runs', () => daemonPids(state, 'one')[0]);
    second = startBus(state, conf);
    assert.notEqual(await second.exit, 0, second.stderr());
    assert.deepEqual(procsWith(`sleep ${TOKEN}4`), [pid], 'the first bus\'s daemon runs on, alone');
    first.proc.kill('SIGTERM');
    assert.equal(await first.exit, 0, first.stderr());
  } finally {
    await cleanUp(dir, state, second !== null ? [first, second] : [first]);
  }
});
