// A real syndicate-server process for relay tests: its own config and state folders, a TCP port,
// its stderr collected, and raw-socket probes that need nothing of ours in the test process.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const BIN = path.resolve('bin/syndicate-server.js');
const CTL = path.resolve('bin/syndicate-ctl.js');

/** What the sentinel daemon runs: a number unique to this test process, so its command line is ours. */
const SENTINEL_ARG = String(4_000_000 + process.pid);

/** A sync to the peer's OID 0, answered `<M #t>` at our OID 0 by any live relay (text syntax). */
export const SYNC_PROBE = '[[0 <S #:[0 0]>]]';

/** The default sturdy ref (`syndicate`, empty key), bound by the script `startBus` writes. */
export const RESOLVE_DEFAULT = '[[0 <A <resolve <ref {oid: "syndicate" sig: #x"69ca300c1dbfa08fba692102dd82311a"}> #:[0 0]> 1>]]';

/** A running bus. */
export interface Bus {
  readonly proc: ChildProcess;
  readonly pid: number;
  readonly port: number;
  readonly configDir: string;
  readonly stateDir: string;
  /** Everything the bus wrote on stderr so far. */
  stderr(): string;
  /** Resolves when stderr matches `re` (rejects after `ms`). */
  waitFor(re: RegExp, what: string, ms?: number): Promise<void>;
  /** SIGTERM, wait for the exit, remove the folders. */
  stop(): Promise<void>;
}

/** A TCP port nobody listens on right now (the kernel's pick). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, host, r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * Starts `syndicate-server` with a config folder holding `scripts` (plus a bind of the default
 * sturdy ref to the config space), `--state`, and `args`; `-p` gets `portArg(port)` unless
 * `portArg` is null. `fdLimit` runs it under `ulimit -n`. Resolves once the TCP port answers.
 */
export async function startBus(options: {
  args?: string[];
  scripts?: Record<string, string>;
  portArg?: ((port: number) => string) | null;
  fdLimit?: number;
  /** Node options before the program (e.g. `--import` of a fault injector). */
  nodeArgs?: string[];
  /** Where to reach the port (default 127.0.0.1), and from where. */
  host?: string;
  localAddress?: string;
  /** Also run `<daemon sentinel>` (a long sleep) whose pid a fault must leave unchanged. */
  sentinel?: boolean;
} = {}): Promise<Bus> {
  const top = fs.mkdtempSync(path.join(os.tmpdir(), `bus-${process.pid}-`));
  const configDir = path.join(top, 'conf'), stateDir = path.join(top, 'state');
  fs.mkdirSync(configDir);
  fs.writeFileSync(path.join(configDir, '00-bind.pr'), '<bind <ref {oid: "syndicate" key: #[]}> $config #f>\n');
  if (options.sentinel) fs.writeFileSync(path.join(configDir, '01-sentinel.pr'), `<require-service <daemon sentinel>>\n<daemon sentinel "exec sleep ${SENTINEL_ARG}">\n`);
  for (const [name, text] of Object.entries(options.scripts ?? {})) fs.writeFileSync(path.join(configDir, name), text);
  const port = await freePort(options.host);
  const portArg = options.portArg === undefined ? (p: number) => String(p) : options.portArg;
  const args = [...(options.nodeArgs ?? []), BIN, '--no-banner', '--state', stateDir, '-c', configDir, ...(portArg ? ['-p', portArg(port)] : []), ...(options.args ?? [])];
  const proc = options.fdLimit !== undefined
    ? spawn('sh', ['-c', `ulimit -n ${options.fdLimit} && exec "$0" "$@"`, process.execPath, ...args], { stdio: ['ignore', 'ignore', 'pipe'] })
    : spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const waiters: { re: RegExp; resolve: () => void }[] = [];
  proc.stderr!.on('data', (d: Buffer) => {
    err += d.toString();
    for (const w of [...waiters]) if (w.re.test(err)) { waiters.splice(waiters.indexOf(w), 1); w.resolve(); }
  });
  let exited = false;
  const exit = new Promise<void>((r) => proc.once('exit', () => { exited = true; r(); }));
  const bus: Bus = {
    proc, pid: proc.pid!, port, configDir, stateDir,
    stderr: () => err,
    waitFor: (re, what, ms = 20000) => new Promise<void>((resolve, reject) => {
      if (re.test(err)) return resolve();
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}; stderr:\n${err}`)), ms);
      waiters.push({ re, resolve: () => { clearTimeout(timer); resolve(); } });
    }),
    stop: async () => {
      if (!exited) {
        proc.kill('SIGTERM');
        const t = setTimeout(() => proc.kill('SIGKILL'), 10000);
        await exit;
        clearTimeout(t);
      }
      killLeftSentinels(stateDir);
      fs.rmSync(top, { recursive: true, force: true });
    },
  };
  try {
    if (portArg !== null) await until(() => answers({ port, host: options.host ?? '127.0.0.1', localAddress: options.localAddress }), 'the bus to answer on its port', 30000);
    else await until(() => answers({ path: path.join(stateDir, 'control.sock') }), 'the control socket', 30000);
  } catch (e) {
    await bus.stop();
    throw new Error(`${(e as Error).message}; stderr:\n${err}`);
  }
  return bus;
}

/** Kills a sentinel a bus left running (it was killed, not stopped), found by its pid file. */
function killLeftSentinels(stateDir: string): void {
  const dir = path.join(stateDir, 'pids');
  let names: string[] = [];
  try { names = fs.readdirSync(dir).filter((n) => n.startsWith('daemon_sentinel.')); } catch { return; }
  for (const n of names) {
    try {
      const pid = Number(fs.readFileSync(path.join(dir, n), 'utf8').split(' ')[0]);
      if (pid > 0 && isLiveSentinel(pid)) process.kill(pid, 'SIGKILL');
    } catch { /* gone */ }
  }
}

/** Retries `probe` (every 50 ms) until it resolves true; rejects after `ms`. */
export async function until(probe: () => Promise<boolean> | boolean, what: string, ms = 20000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await probe()) return;
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Connects, sends `send` (default: the sync probe), and resolves true when what comes back
 * matches `expect` (default: `<M #t>`), false on refusal, close or `ms` without an answer.
 */
export function answers(to: net.NetConnectOpts, send = SYNC_PROBE, expect = /<M #t>/, ms = 10000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(to);
    let got = '';
    const done = (ok: boolean) => {
      clearTimeout(timer);
      s.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), ms);
    s.on('error', () => done(false));
    s.on('close', () => done(expect.test(got)));
    s.on('connect', () => s.write(send));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (expect.test(got)) done(true);
    });
  });
}

/** The bus's resident set size and its peak, in bytes, from /proc/PID/status. */
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), peak: kb('VmHWM') };
}

/** A connection that stays open; `closed` resolves with what the bus sent, once it closes. */
export function openConnection(to: net.NetConnectOpts): Promise<{ socket: net.Socket; closed: Promise<string> }> {
  return new Promise((resolve, reject) => {
    const s = net.connect(to);
    let got = '';
    s.on('data', (d: Buffer) => void (got += d.toString('latin1')));
    const closed = new Promise<string>((r) => s.once('close', () => r(got)));
    s.once('error', (e) => reject(e));
    s.once('connect', () => {
      s.removeAllListeners('error');
      s.on('error', () => {});
      resolve({ socket: s, closed });
    });
  });
}

/** The pid `syndicate-ctl status --json` shows for `<daemon ID>` when it is ready, else 0. */
export function readyDaemonPid(bus: Bus, id: string): Promise<number> {
  return new Promise((resolve) => {
    execFile(process.execPath, [CTL, '--socket', path.join(bus.stateDir, 'control.sock'), 'status', '--json'], { encoding: 'utf8' }, (err, stdout) => {
      if (err) return resolve(0);
      try {
        const rows = JSON.parse(stdout) as { service: string; pid: number | null; state: string }[];
        const row = rows.find((r) => r.service === `<daemon ${id}>`);
        resolve(row?.state === 'ready' && typeof row.pid === 'number' ? row.pid : 0);
      } catch {
        resolve(0);
      }
    });
  });
}

/** True when `pid` is a live process running the sentinel's command (not a reused pid). */
export function isLiveSentinel(pid: number): boolean {
  try {
    process.kill(pid, 0);
    const state = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
    if (/^[ZX]$/.test(state.slice(state.lastIndexOf(')') + 2)[0])) return false;
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0').includes(SENTINEL_ARG);
  } catch {
    return false;
  }
}

/** Waits for the bus started with `sentinel: true` to show its sentinel ready, and returns its pid. */
export async function sentinelPid(bus: Bus, ms = 30000): Promise<number> {
  let pid = 0;
  await until(async () => (pid = await readyDaemonPid(bus, 'sentinel')) > 0 && isLiveSentinel(pid), 'the sentinel daemon ready', ms);
  return pid;
}
