// The daemon service with real processes (spec §3, §4, and the "beyond the reference" keys):
// states, restart policies, backoff, readiness, finish, health checks, dependencies, logs, stop
// and shutdown. Tests wait on assertions and events, never on fixed sleeps.
import { afterEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse, type Embedded } from '../../src/preserves/index.ts';
import { P, setLogHook, type Assertion, type Handle, type Ref } from '../../src/bus/index.ts';
import { daemonCgroupPath, removeCgroupTree } from '../../src/services/daemon/cgroup.ts';
import { daemonService, serviceLogDirName, type DaemonServiceOptions } from '../../src/services/supervision/daemon-service.ts';
import { daemonRegistry } from '../../src/services/supervision/daemon-registry.ts';
import { readLastLines } from '../../src/services/daemon/log-file.ts';
import { Service } from '../../src/services/supervision/service-protocol.ts';
import { shutdownSystem } from '../../src/services/shutdown.ts';
import { has, lacks, testSystem, type TestSystem } from './service-harness.ts';
import { liveGroupMembers } from './proc-helpers.ts';

const v = (s: string) => parse(s) as Assertion;
const BIN = path.resolve(import.meta.dirname, '../../bin/syndicate-server.js');

interface DaemonTest extends TestSystem {
  /** Log lines with their arrival time (ms). */
  timed: [number, string][];
  /** Asserts `<require-service <daemon ID>>` and each config; returns the handles. */
  daemon(id: string, ...specs: string[]): Promise<Handle[]>;
  /** Asserts one more config `<daemon ID SPEC>`; returns its handle. */
  config(id: string, spec: string): Promise<Handle>;
  retract(...hs: Handle[]): Promise<void>;
  /** The pid in `<daemon-status <daemon ID> {...}>`, once it is a number satisfying `pred`. */
  pid(id: string, pred?: (pid: number) => boolean): Promise<number>;
  /** Resolves when at least `n` log lines contain `text`. */
  lines(text: string, n?: number): Promise<string[]>;
  /** Waits until every process the daemon service started has ended. */
  idle(): Promise<void>;
}

/** Systems not stopped yet: a test that fails before its own stop must not leave processes running (and its file waiting on them). */
const unstopped = new Set<DaemonTest>();
afterEach(async () => {
  for (const d of unstopped) await shutdownSystem(d.system);
  unstopped.clear();
});

async function daemonTest(options: DaemonServiceOptions = {}): Promise<DaemonTest> {
  const timed: [number, string][] = [];
  const waiters: (() => void)[] = [];
  const s = await testSystem({
    writeLog: (l) => {
      timed.push([Date.now(), l]);
      for (const w of [...waiters]) w();
    },
    services: (config, log) => [daemonService(config, log, options)],
  });
  const stopSystem = s.stop;
  const d: DaemonTest = Object.assign(s, {
    timed,
    async daemon(id: string, ...specs: string[]) {
      const hs: Handle[] = [];
      await s.act((t) => {
        hs.push(t.assert(s.system.config, Service.require(v(`<daemon ${id}>`))));
        for (const spec of specs) hs.push(t.assert(s.system.config, v(`<daemon ${id} ${spec}>`)));
      });
      return hs;
    },
    async config(id: string, spec: string) {
      let h = 0;
      await s.act((t) => void (h = t.assert(s.system.config, v(`<daemon ${id} ${spec}>`))));
      return h;
    },
    async retract(...hs: Handle[]) {
      await s.act((t) => { for (const h of hs) t.retract(h); });
    },
    async pid(id: string, pred: (pid: number) => boolean = () => true) {
      let found = 0;
      const prefix = `<daemon-status <daemon ${id}> `;
      await s.until((c) => c.some((l) => {
        if (!l.startsWith(prefix)) return false;
        const m = /pid: (\d+)/.exec(l);
        if (m === null || !pred(Number(m[1]))) return false;
        found = Number(m[1]);
        return true;
      }), `a pid for ${id}`);
      return found;
    },
    lines(text: string, n = 1) {
      const matching = () => timed.map(([, l]) => l).filter((l) => l.includes(text));
      return new Promise<string[]>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`timed out waiting for ${n} log line(s) with ${text}:\n${timed.map(([, l]) => l).join('\n')}`)), 15000);
        const check = () => {
          const m = matching();
          if (m.length < n) return false;
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
          resolve(m);
          return true;
        };
        waiters.push(check);
        check();
      });
    },
    idle: () => daemonRegistry(s.system.config).ops.idle(),
    stop: async () => {
      unstopped.delete(d);
      await stopSystem();
    },
  });
  unstopped.add(d);
  return d;
}

/** Resolves once no live process of group `pgid` remains (polls /proc; there is no event for it). */
async function groupGone(pgid: number): Promise<void> {
  const deadline = Date.now() + 15000;
  while (liveGroupMembers(pgid).length > 0) {
    if (Date.now() > deadline) throw new Error(`group ${pgid} still alive: ${liveGroupMembers(pgid).join(' ')}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const state = (id: string, st: string) => `<service-state <daemon ${id}> ${st}>`;
const tmp = (prefix: string) => mkdtemp(path.join(tmpdir(), prefix));

test('started and ready; stopping sh -c "sleep 1000 & sleep 1000" leaves nothing of its group', async () => {
  const s = await daemonTest();
  const [req] = await s.daemon('sleeper', '"sleep 1000 & sleep 1000"');
  await s.until(has(state('sleeper', 'started')));
  await s.until(has(state('sleeper', 'ready')), 'ready');
  const pid = await s.pid('sleeper');
  assert.ok(liveGroupMembers(pid).length >= 1);
  await s.retract(req);
  await s.until((c) => !c.some((l) => l.includes('<daemon sleeper>')), 'everything retracted');
  await s.idle();
  assert.deepEqual(liveGroupMembers(pid), []);
  await s.stop();
});

test('a daemon with zero configs is ready at once', async () => {
  const s = await daemonTest();
  await s.daemon('empty');
  await s.until(has(state('empty', 'ready')));
  await s.stop();
});

test('one-shot reaches complete and is never ready', async () => {
  const s = await daemonTest();
  await s.daemon('setup', '<one-shot "echo setting up">');
  await s.until(has(state('setup', 'complete')), 'complete');
  assert.ok(s.timed.some(([, l]) => l.includes('setting up')));
  assert.ok(!s.contents().includes(state('setup', 'ready')));
  assert.ok(!s.contents().includes(state('setup', 'started')), 'complete replaces started');
  await s.stop();
});

test('restart on-error: failures restart the process, success completes', async () => {
  const dir = await tmp('ds-onerr-');
  const f = path.join(dir, 'n');
  const s = await daemonTest();
  await s.daemon('retry', `{argv: "n=$(cat ${f} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${f}; echo run $n; [ $n -ge 3 ]" restart: on-error restartDelay: 0.01}`);
  await s.until(has(state('retry', 'complete')), 'complete after the third run');
  assert.equal((await readFile(f, 'utf8')).trim(), '3');
  assert.equal(s.timed.filter(([, l]) => / run \d/.test(l)).length, 3);
  await s.stop();
});

test('restart always: clean exits restart too, the daemon stays started', async () => {
  const s = await daemonTest();
  await s.daemon('looper', '{argv: "echo tick" restartDelay: 0}');
  await s.lines('tick', 5);
  assert.ok(s.contents().includes(state('looper', 'started')));
  assert.ok(!s.contents().includes(state('looper', 'complete')));
  await s.stop();
  await s.idle();
});

test('restart never: a failure counts as completion', async () => {
  const s = await daemonTest();
  await s.daemon('once', '{argv: "exit 4" restart: never}');
  await s.until(has(state('once', 'complete')));
  await s.lines('exit code 4');
  await s.stop();
});

test('restart all: a failure crashes the daemon (failed) and the supervisor restarts it', async () => {
  const dir = await tmp('ds-all-');
  const s = await daemonTest();
  const marker = path.join(dir, 'runs');
  const crashes: string[] = [];
  const old = setLogHook((e) => { if (e.message === 'actor crashed') crashes.push(e.actor ?? ''); });
  const history = stateHistory(s, 'whole');
  await s.daemon('whole', `{argv: "echo x >> ${marker}; exit 1" restart: all}`, '"sleep 1000"');
  await s.until(has(state('whole', 'failed')), 'failed');
  setLogHook(old);
  assert.ok(crashes.includes('daemon <daemon whole>'), `the engine's error line names the daemon: ${crashes}`);
  await s.lines('restart policy "all"');
  // Restarted: started again, and a second run crashes the same way. (That `started` lasts only
  // as long as the run, and after a second quick failure the next restart is 10 s away: polling
  // the space for it raced, so the history of states is read instead.)
  await s.lines('restart policy "all"', 2);
  assert.ok((await readFile(marker, 'utf8')).split('\n').filter((l) => l === 'x').length >= 2, 'the program ran again');
  assert.deepEqual(history.filter((st) => st === 'started' || st === 'failed').slice(0, 3), ['started', 'failed', 'started']);
  await s.stop();
  await s.idle();
});

test('several configs: ready only while every process runs; each config has its own process', async () => {
  const s = await daemonTest();
  const [, a] = await s.daemon('multi', '"sleep 1000"');
  await s.until(has(state('multi', 'ready')));
  const pidA = await s.pid('multi');
  const b = await s.config('multi', '"sleep 1001"');
  const pidB = await s.pid('multi', (p) => p !== pidA);
  await s.until(has(state('multi', 'ready')));
  const c = await s.config('multi', '{argv: "sleep 1002" readyOnStart: #f}');
  await s.pid('multi', (p) => p !== pidA && p !== pidB);
  await s.until(lacks(state('multi', 'ready')), 'a config that is not ready yet holds readiness back');
  await s.retract(c);
  await s.until(has(state('multi', 'ready')), 'ready again');
  await s.retract(a);
  await groupGone(pidA); // the retracted config's process is stopped
  assert.ok(liveGroupMembers(pidB).length > 0, 'the other one runs on');
  assert.ok(s.contents().includes(state('multi', 'ready')));
  await s.retract(b);
  await s.stop();
  await s.idle();
});

test('readiness through fd 3, through sd-notify, and readyOnStart #f', async () => {
  const dir = await tmp('ds-ready-');
  const go = path.join(dir, 'go');
  const s = await daemonTest();
  await s.daemon('fd', `{argv: "while [ ! -e ${go} ]; do sleep 0.02; done; echo ready >&3; exec sleep 1000" readyNotify: <fd 3>}`);
  await s.pid('fd');
  await s.daemon('lazy', '{argv: "sleep 1000" readyOnStart: #f}');
  await s.pid('lazy');
  await s.act(() => {});
  assert.ok(!s.contents().includes(state('fd', 'ready')), 'not ready before the fd says so');
  await writeFile(go, '');
  await s.until(has(state('fd', 'ready')), 'ready by fd');

  const py = 'import os, socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b\\"READY=1\\", os.environ[\\"NOTIFY_SOCKET\\"]); os.execvp(\\"sleep\\", [\\"sleep\\", \\"1000\\"])';
  await s.daemon('sd', `{argv: ["python3" "-c" "${py}"] readyNotify: sd-notify}`);
  await s.until(has(state('sd', 'ready')), 'ready by sd-notify');
  assert.ok(!s.contents().includes(state('lazy', 'ready')), 'readyOnStart #f is never marked ready by the server');
  await s.stop();
  await s.idle();
});

test('finish runs after each exit with the exit status', async () => {
  const dir = await tmp('ds-finish-');
  const out = path.join(dir, 'finished');
  const s = await daemonTest();
  await s.daemon('fin', `{argv: "exit 2" restart: never finish: "echo finished $1 $2 >> ${out}"}`);
  await s.until(has(state('fin', 'complete')));
  assert.equal(await readFile(out, 'utf8'), 'finished 2 0\n');
  await s.stop();
});

test('a failing health check restarts the process', async () => {
  const s = await daemonTest();
  await s.daemon('sick', '{argv: "sleep 1000" restartDelay: 0 healthCheck: {command: "exit 1" interval: 0.05 failures: 2}}');
  const first = await s.pid('sick');
  await s.lines('health check failed 2 time(s)');
  await s.pid('sick', (p) => p !== first);
  await s.until(has(state('sick', 'ready')));
  await s.stop();
  await s.idle();
  assert.deepEqual(liveGroupMembers(first), []);
});

/** Every `<service-state <daemon ID> STATE>` that ever appeared, in order. */
function stateHistory(s: DaemonTest, id: string): string[] {
  const seen: string[] = [];
  void s.act((t) => {
    t.observe(s.system.config, P.rec('service-state', P.lit(v(`<daemon ${id}>`)), P.bind()), {
      added: (_t, [st]) => void seen.push(typeof st === 'symbol' ? st.description ?? '' : String(st)),
    });
  });
  return seen;
}

/** The `<daemon-status <daemon ID> {...}>` line, once `pred` holds for it. */
async function statusLine(s: DaemonTest, id: string, pred: (line: string) => boolean): Promise<string> {
  let found = '';
  await s.until((c) => c.some((l) => {
    if (!l.startsWith(`<daemon-status <daemon ${id}> `) || !pred(l)) return false;
    found = l;
    return true;
  }), `status of ${id}`);
  return found;
}

test('a missing program: failed with the reason, retried with growing delays, counted, never started', async () => {
  const s = await daemonTest();
  const history = stateHistory(s, 'ghost');
  await s.daemon('ghost', '{argv: ["/nonexistent/ghost-program" "--flag"] restartDelay: 0.05 restartMaxDelay: 0.4}');
  await s.until(has(state('ghost', 'failed')), 'failed');
  await s.until((c) => c.some((l) => l.startsWith('<service-error <daemon ghost> "cannot start program \\"/nonexistent/ghost-program\\": not found (ENOENT)')), 'service-error says why');
  const lines = await s.lines('cannot start program "/nonexistent/ghost-program"', 5);
  // One line per attempt, naming the daemon, with the delay before the next one.
  assert.ok(lines.every((l) => l.includes('<daemon ghost>') && / next in \d/.test(l)), lines.join('\n'));
  const attempts = s.timed.filter(([, l]) => l.includes('cannot start program')).map(([at]) => at);
  const gaps = attempts.slice(1).map((t, i) => t - attempts[i]);
  assert.ok(gaps[3] > gaps[0], `delays grow: ${gaps.join(', ')}`);
  const status = await statusLine(s, 'ghost', (l) => /restarts: [4-9]/.test(l) && /nextAttempt: "\d{4}-/.test(l));
  assert.match(status, /lastExit: "cannot start program/);
  assert.deepEqual(history.filter((x) => x !== 'failed'), [], `only failed, never started/ready: ${history.join(' ')}`);
  await s.daemon('fine', '"sleep 1000"');
  await s.until(has(state('fine', 'ready')), 'other daemons unaffected');
  await s.stop();
  await s.idle();
});

test('a shell command the machine lacks: a plain one fails without running sh; exit 127 is a failure with backoff', async () => {
  const s = await daemonTest();
  const plain = stateHistory(s, 'noshell');
  await s.daemon('noshell', '"no-such-program-xyz --opt"');
  await s.until(has(state('noshell', 'failed')), 'failed');
  await s.until((c) => c.some((l) => l.startsWith('<service-error <daemon noshell> "cannot start program \\"no-such-program-xyz\\": not found')), 'service-error says why');
  await s.daemon('exec127', '{argv: "true && no-such-program-xyz --opt" restartDelay: 0.05}');
  await s.until(has(state('exec127', 'failed')), 'failed');
  await s.lines('command not found: "true && no-such-program-xyz --opt" (sh exit 127)', 3);
  await s.until((c) => c.some((l) => l.startsWith('<service-error <daemon exec127> "command not found')), 'service-error says why');
  await statusLine(s, 'exec127', (l) => /restarts: [2-9]/.test(l));
  assert.ok(!s.contents().includes(state('exec127', 'ready')), 'not ready while failing');
  assert.deepEqual(plain, ['failed']);
  await s.stop();
  await s.idle();
});

test('invalid specs at run time: failed with the reason, never started', async () => {
  const s = await daemonTest();
  const cases: [string, string, RegExp][] = [
    ['odd', '42', /Invalid Process specification/],
    ['badopt', '{argv: "sleep 1000" restart: sometimes}', /field \\"restart\\"/],
    ['badargv', '{argv: ["sleep" 1000]}', /field \\"argv\\": element 1 must be a string/],
  ];
  const histories = cases.map(([id]) => stateHistory(s, id));
  for (const [id, spec] of cases) await s.daemon(id, spec);
  for (const [id, , why] of cases) {
    await s.until(has(state(id, 'failed')), `${id} failed`);
    await s.until((c) => c.some((l) => l.startsWith(`<service-error <daemon ${id}> `) && why.test(l)), `${id}: service-error names the fault`);
  }
  await s.act(() => {});
  histories.forEach((h, i) => assert.deepEqual(h, ['failed'], `${cases[i][0]}: ${h.join(' ')}`));
  await s.stop();
});

test('backoff grows between quick failures and is capped', async () => {
  const s = await daemonTest();
  await s.daemon('flap', '{argv: "echo flap; exit 1" restartDelay: 0.04 restartMaxDelay: 0.3}');
  await s.lines(' stdout: flap', 7);
  const times = s.timed.filter(([, l]) => l.includes(' stdout: flap')).map(([at]) => at).slice(0, 7);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  // Delays 40, 80, 160, 300 (cap, jittered down to at least 225), ...
  assert.ok(gaps[0] >= 35, `first gap ${gaps[0]}`);
  assert.ok(gaps[3] >= 200, `fourth gap ${gaps[3]} grew`);
  assert.ok(gaps[3] > gaps[0] * 2, `growth: ${gaps.join(', ')}`);
  for (const g of gaps) assert.ok(g < 300 + 700, `cap respected: ${gaps.join(', ')}`);
  await s.stop();
  await s.idle();
});

test('backoff resets after a healthy run', async () => {
  const s = await daemonTest();
  // Each run lasts longer than restartResetAfter, so every restart waits the first delay.
  await s.daemon('steady', '{argv: "echo up; sleep 0.15; exit 1" restartDelay: 0.04 restartResetAfter: 0.1}');
  await s.lines(' stdout: up', 6);
  const times = s.timed.filter(([, l]) => l.includes(' stdout: up')).map(([at]) => at).slice(0, 6);
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  // Without the reset the fifth gap would be 150 + 640 ms.
  assert.ok(gaps[4] < 150 + 400, `no growth: ${gaps.join(', ')}`);
  await s.stop();
  await s.idle();
});

test('restart-service stops every process and starts the daemon afresh', async () => {
  const s = await daemonTest();
  await s.daemon('svc', '"sleep 1000 & sleep 1000"');
  await s.until(has(state('svc', 'ready')));
  const first = await s.pid('svc');
  await s.act((t) => t.message(s.system.config, Service.restart(v('<daemon svc>'))));
  await s.pid('svc', (p) => p !== first);
  await s.until(has(state('svc', 'ready')));
  await s.stop();
  await s.idle();
  assert.deepEqual(liveGroupMembers(first), []);
});

test('depends-on: b starts only once a is ready, and is torn down when a fails', async () => {
  const dir = await tmp('ds-dep-');
  const go = path.join(dir, 'go');
  const s = await daemonTest();
  await s.act((t) => void t.assert(s.system.config, v('<depends-on <daemon b> <service-state <daemon a> ready>>')));
  await s.config('a', `{argv: "while [ ! -e ${go} ]; do sleep 0.02; done; echo >&3; exec sleep 1000" readyNotify: <fd 3> restartDelay: 30}`);
  await s.daemon('b', '"sleep 1000 & sleep 1000"');
  await s.until(has(state('a', 'started')), 'a is pulled in');
  await s.pid('a');
  await s.act(() => {});
  assert.ok(!s.contents().some((l) => l.includes('<service-state <daemon b>')), 'b waits');
  await writeFile(go, '');
  await s.until(has(state('a', 'ready')));
  await s.until(has(state('b', 'ready')), 'b runs after a is ready');
  const pidA = await s.pid('a');
  const pidB = await s.pid('b');
  process.kill(pidA, 'SIGKILL');
  await s.until((c) => !c.some((l) => l.includes('<service-state <daemon b>')), 'b torn down');
  await s.idle();
  assert.deepEqual(liveGroupMembers(pidB), []);
  await s.stop();
  await shutdownSystem(s.system);
});

test('output lines go to the log dataspace and to the service\'s log file', async () => {
  const logDir = await tmp('ds-logs-');
  const s = await daemonTest({ logDir });
  const [req] = await s.daemon('talker', '"echo hello; echo oops >&2; exec sleep 1000"');
  const pid = await s.pid('talker');
  await s.lines(`<daemon talker>[${pid}] stdout: hello`);
  await s.lines(`<daemon talker>[${pid}] stderr: oops`);
  await s.retract(req);
  await s.idle();
  const dirName = serviceLogDirName(v('<daemon talker>'));
  assert.equal(dirName, 'daemon_talker');
  const lines = await readLastLines(path.join(logDir, dirName), 10);
  assert.ok(lines.some((l) => / stdout hello$/.test(l)), JSON.stringify(lines));
  assert.ok(lines.some((l) => / stderr oops$/.test(l)), lines.join('\n'));
  await s.stop();
});

test('many short-lived daemons started in one turn: every line reaches the log dataspace and the log files', async () => {
  // Regression: with a state folder (pid files, cgroups) a process that exited before its pid
  // file was written lost all its output (Node drains pipes that have no reader at exit).
  const dir = await tmp(`ds-quick-${process.pid}-`);
  const logDir = path.join(dir, 'log');
  const stateDir = path.join(dir, 'state');
  const s = await daemonTest({ logDir, stateDir });
  try {
    const ids = Array.from({ length: 12 }, (_, i) => `quick${i}`);
    await s.act((t) => {
      for (const id of ids) {
        t.assert(s.system.config, Service.require(v(`<daemon ${id}>`)));
        t.assert(s.system.config, v(`<daemon ${id} <one-shot ["echo" "line of ${id} end"]>>`));
      }
    });
    await s.until((c) => ids.every((id) => c.includes(state(id, 'complete'))), 'every one-shot complete');
    await s.idle();
    for (const id of ids) {
      const [line] = await s.lines(`stdout: line of ${id} end`);
      assert.match(line, new RegExp(`<daemon ${id}>\\[\\d+\\] stdout: line of ${id} end`));
      const lines = await readLastLines(path.join(logDir, serviceLogDirName(v(`<daemon ${id}>`))), 10);
      assert.ok(lines.some((l) => l.endsWith(` stdout line of ${id} end`)), `line of ${id} in its log file: ${JSON.stringify(lines)}`);
    }
  } finally {
    await s.stop();
    const cg = daemonCgroupPath(stateDir);
    if (cg !== null) await removeCgroupTree(cg);
    await rm(dir, { recursive: true, force: true });
  }
});

test('shutdownSystem stops dependents before their dependencies and leaves no process', async () => {
  const dir = await tmp('ds-shut-');
  const order = path.join(dir, 'order');
  const s = await daemonTest();
  await s.act((t) => {
    t.assert(s.system.config, v('<depends-on <daemon top> <service-state <milestone mid> ready>>'));
    t.assert(s.system.config, v('<depends-on <milestone mid> <service-state <daemon base> ready>>'));
    // A stand-in for a milestone script.
    t.assert(s.system.config, v('<service-state <milestone mid> ready>'));
  });
  // Ready only once the trap is set: with readyOnStart a quick shutdown could TERM the shell
  // before `trap` ran, and it would die without writing its name (the old flake).
  const trap = (name: string) => `{argv: "trap 'echo ${name} >> ${order}; exit 0' TERM; echo >&3; sleep 1000 & wait" readyNotify: <fd 3>}`;
  await s.daemon('base', trap('base'));
  await s.daemon('top', trap('top'));
  await s.until(has(state('top', 'ready')));
  await s.until(has(state('base', 'ready')));
  const pids = [await s.pid('base'), await s.pid('top')];
  await shutdownSystem(s.system);
  assert.equal(await readFile(order, 'utf8'), 'top\nbase\n');
  for (const p of pids) assert.deepEqual(liveGroupMembers(p), []);
});

test('syndicate-server exits 0 on SIGTERM and leaves no process of its daemons', async () => {
  const dir = await tmp('ds-cli-');
  const pidFile = path.join(dir, 'pgid');
  await writeFile(path.join(dir, 'sleeper.pr'), [
    '<require-service <daemon sleeper>>',
    `<daemon sleeper "echo $$ > ${pidFile}; sleep 1000 & sleep 1000">`,
    '',
  ].join('\n'));
  const p = spawn(process.execPath, [BIN, '--no-banner', '--state', path.join(dir, 'state'), '-c', dir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (b: Buffer) => void (stderr += b.toString()));
  const exit = new Promise<number | null>((resolve) => p.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 15000;
  while (!existsSync(pidFile) || (await readFile(pidFile, 'utf8')).trim() === '') {
    if (Date.now() > deadline) throw new Error('daemon never started:\n' + stderr);
    await new Promise((r) => setTimeout(r, 20));
  }
  const pgid = Number((await readFile(pidFile, 'utf8')).trim());
  assert.ok(liveGroupMembers(pgid).length >= 2);
  p.kill('SIGTERM');
  assert.equal(await exit, 0, stderr);
  assert.deepEqual(liveGroupMembers(pgid), []);
});

test('protocol daemons: the child\'s OID 0 is published as service-object while it runs', async () => {
  const child = path.resolve(import.meta.dirname, 'fixtures/relay-child.ts');
  const s = await daemonTest();
  for (const [id, proto, syntax] of [['bin', 'application/syndicate', 'binary'], ['txt', 'text/syndicate', 'text']]) {
    const [req] = await s.daemon(id, `{argv: ["${process.execPath}" "--import" "tsx" "${child}" "${syntax}"] protocol: ${proto}}`);
    await s.until(has(`<service-object <daemon ${id}> #:ref>`), `service-object of ${id}`);
    await s.act((t) => {
      t.during(s.system.config, P.rec('service-object', P.lit(v(`<daemon ${id}>`)), P.bind()), (t, [obj]) => {
        t.assert((obj as Embedded<Ref>).value, v(`<hello ${id}>`));
      });
    });
    await s.lines(`got hello ${id}`);
    const pid = await s.pid(id);
    await s.retract(req);
    await s.until(lacks(`<service-object <daemon ${id}> #:ref>`), 'retracted with the daemon');
    await groupGone(pid);
  }
  await s.stop();
});
