// The daemon service (syndicate-server spec §3, plus the "beyond the reference" keys): for each
// `<run-service <daemon ID>>`, a supervised actor that runs one process per `<daemon ID SPEC>`
// config, publishes readiness and completion, restarts processes by policy with backoff, runs
// `finish` and health checks, and sends every output line to the log dataspace and a log file.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Bytes, Dictionary, Embedded, Record, stringify, sym, valueKey } from '../../preserves/index.ts';
import { P, settle, type Assertion, type Facet, type Field, type Ref, type Turn } from '../../bus/index.ts';
import { rfc3339 } from '../../config-lang/evaluator.ts';
import { ensurePrivateDir } from '../../config-lang/durable-file.ts';
import { attachRelay } from '../../relay/relay.ts';
import { RestartBackoff, decideOnExit, type ExitDecision } from '../daemon/backoff.ts';
import { commandProgram, commandUnderRoot, showCommand } from '../daemon/command.ts';
import { DaemonProcess, type OutputGate, type OutputStreamName } from '../daemon/daemon-process.ts';
import { PendingSet, daemonRegistry, type DaemonHistory, type DaemonRegistry, type RunningDaemon } from './daemon-registry.ts';
import { DaemonSpecError, parseDaemonSpec, type DaemonSpec } from '../daemon/daemon-spec.ts';
import { describeExit, isSuccess, type ExitStatus } from '../daemon/exit-status.ts';
import { runFinish } from '../daemon/finish-command.ts';
import { HealthCheck, type CheckResult } from '../daemon/health-check.ts';
import type { OutputLine } from '../daemon/line-splitter.ts';
import { LogFile } from '../daemon/log-file.ts';
import { Service } from './service-protocol.ts';
import { daemonCgroupRoot } from '../daemon/cgroup.ts';
import { claimPidDir, leftoverPidDir } from '../daemon/leftovers.ts';
import { serviceReportsStart } from './supervisor.ts';
import { isStopping } from './system-stopping.ts';
import type { ServiceKind } from './service-listener.ts';
import { SpawnError } from '../daemon/spawn-error.ts';

/** Where the daemon service keeps files. */
export interface DaemonServiceOptions {
  /** Per-service log directories go under this (`<logDir>/<serviceLogDirName(name)>/`); none if absent. */
  readonly logDir?: string;
  /** Where sd-notify sockets are made (default: the OS temp dir). */
  readonly runtimeDir?: string;
  /** `--root`: a program named by absolute path runs from under it when it is there (`commandUnderRoot`). */
  readonly rootDir?: string;
  /**
   * The bus's state folder: each process gets a pid file in `<stateDir>/pids` and, where cgroup
   * v2 is writable, a cgroup of its own under `daemonCgroupRoot(stateDir)`, so a bus started
   * after this one was killed can stop what it left (`recoverLeftovers`).
   */
  readonly stateDir?: string;
  /** Use cgroups when possible (default true); false: process groups only. */
  readonly cgroups?: boolean;
}

const $daemon = sym('daemon');
const $log = sym('log');
const $daemonStatus = sym('daemon-status');

/** The `<daemon ID>` service kind: supervised with policy on-error (spec §3.2). */
export function daemonService(config: Ref, log: Ref, options: DaemonServiceOptions = {}): ServiceKind {
  const registry = daemonRegistry(config);
  serviceReportsStart(config, 'daemon');
  const places = processPlaces(options, registry);
  return {
    kind: 'daemon',
    pattern: P.bind(P.rec($daemon, P.bind())),
    policy: 'on-error',
    boot(t, name, [, id]) {
      const dirName = serviceLogDirName(name);
      const processFiles = { next: () => places(dirName) };
      runDaemon(t, { config, log, options, registry, name, id, processFiles });
    },
  };
}

/** `<daemon-status NAME {pid restarts since lastExit nextAttempt}>`, asserted in config by each daemon. */
export function daemonStatusRecord(name: Assertion, info: DaemonStatus): Assertion {
  const d = new Dictionary<Ref>();
  d.set(sym('pid'), info.pid ?? false);
  d.set(sym('restarts'), info.restarts);
  d.set(sym('since'), info.since);
  d.set(sym('lastExit'), info.lastExit ?? false);
  d.set(sym('nextAttempt'), info.nextAttempt ?? false);
  return new Record<Ref>($daemonStatus, [name, d]);
}

/** The contents of a `<daemon-status …>` record. */
export interface DaemonStatus {
  /** The most recently started process still running, or null (`#f`). */
  readonly pid: number | null;
  readonly restarts: number;
  /** RFC 3339 time of the last start or exit of a process (or of the daemon's start). */
  readonly since: string;
  /** How the last process ended (`exit code 1`, `killed by SIGTERM`, a spawn error), or null (`#f`). */
  readonly lastExit: string | null;
  /** RFC 3339 time of the next scheduled (re)start of a process, or null (`#f`) when none is due. */
  readonly nextAttempt: string | null;
}

/**
 * The directory name of a service's logs under `logDir`: the service record in Preserves text
 * without its outer brackets, every run of characters other than `A-Za-z0-9._-` made `_`
 * (`<daemon sshd>` → `daemon_sshd`). When that loses more than the spaces, a short hash of the
 * full text is appended so different services never share a directory.
 */
export function serviceLogDirName(name: Assertion): string {
  let text: string;
  try {
    text = stringify(name);
  } catch {
    text = String(valueKey(name));
  }
  const inner = text.startsWith('<') && text.endsWith('>') ? text.slice(1, -1) : text;
  const clean = inner.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^[_.]+|_+$/g, '').slice(0, 100);
  const simple = inner.replace(/ +/g, '_');
  if (clean !== '' && clean === simple) return clean;
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 8);
  return `${clean === '' ? 'service' : clean}-${hash}`;
}

interface DaemonContext {
  readonly config: Ref;
  readonly log: Ref;
  readonly options: DaemonServiceOptions;
  readonly registry: DaemonRegistry;
  readonly name: Assertion;
  readonly id: Assertion;
  /** The pid file and cgroup of the next process of this daemon. */
  readonly processFiles: { next(): ProcessPlaces };
}

/** Where one process's pid file and cgroup go (both optional). */
interface ProcessPlaces {
  readonly pidFile?: string;
  readonly cgroup?: string;
}

let processSerial = 0;

/** Names pid files and cgroups for the daemons of one service kind. */
function processPlaces(options: DaemonServiceOptions, registry: DaemonRegistry): (dirName: string) => ProcessPlaces {
  if (options.stateDir === undefined) return () => ({});
  const pidDir = leftoverPidDir(options.stateDir);
  mkdirSync(pidDir, { recursive: true, mode: 0o700 });
  claimPidDir(pidDir);
  const cgroupRoot = options.cgroups === false ? null : daemonCgroupRoot(options.stateDir);
  registry.cgroupRoot = cgroupRoot;
  const stamp = Date.now().toString(36);
  return (dirName) => {
    const unique = `${stamp}-${++processSerial}`;
    return {
      pidFile: path.join(pidDir, `${dirName}.${unique}`),
      ...(cgroupRoot !== null ? { cgroup: path.join(cgroupRoot, dirName, unique) } : {}),
    };
  };
}

/** Per daemon actor: counters, the log sink, status. */
interface DaemonState {
  readonly ctx: DaemonContext;
  readonly root: Facet;
  /** Tracks an OS operation of this daemon (for shutdown). */
  readonly track: (p: Promise<unknown>) => void;
  readonly unready: Field<number>;
  readonly total: Field<number>;
  readonly completed: Field<number>;
  /** True once the configs present at boot have been counted (a sync with config). */
  readonly synced: Field<boolean>;
  /** True once a process of this actor has been spawned. */
  readonly spawned: Field<boolean>;
  /** Configs that cannot run now (spawn failure, command not found, invalid spec) → why. */
  readonly failing: Field<ReadonlyMap<number, string>>;
  readonly status: Field<DaemonStatus>;
  /** When each config's next attempt is due (ms since the epoch). */
  readonly nextAttempts: Map<number, number>;
  readonly history: DaemonHistory;
  readonly sink: LogSink;
  /** Live processes, newest last (for `pid` in the status). */
  readonly live: DaemonProcess[];
  /** Numbers configs for `failing` and `nextAttempts`. */
  serial: number;
}

const $serviceError = sym('service-error');

function runDaemon(t: Turn, ctx: DaemonContext): void {
  const { config, registry, name, id } = ctx;
  const key = valueKey(name);
  const self: RunningDaemon = { name, key, actor: t.actor, ops: new PendingSet() };
  registry.daemons.add(self);
  t.onRelease(() => void registry.daemons.delete(self));
  if (stopping(ctx)) return;

  const root = t.activeFacet;
  const history = registry.historyOf(key);
  const st: DaemonState = {
    ctx,
    root,
    track: (p) => registry.track(self, p),
    unready: t.field(1, 'unready'),
    total: t.field(0, 'total'),
    completed: t.field(0, 'completed'),
    synced: t.field(false, 'synced'),
    spawned: t.field(false, 'spawned'),
    failing: t.field<ReadonlyMap<number, string>>(new Map(), 'failing'),
    status: t.field<DaemonStatus>({ pid: null, restarts: history.restarts, since: rfc3339(new Date()), lastExit: history.lastExit, nextAttempt: null }, 'status'),
    nextAttempts: new Map(),
    history,
    sink: new LogSink(root, ctx),
    live: [],
    serial: 0,
  };
  t.onRelease(() => st.track(st.sink.close()));
  // A clean end (completion, or the service no longer wanted) forgets the history; after a
  // crash it is kept for the next incarnation's status.
  t.actor.atExit((t) => { if (t.actor.exitReason?.ok) registry.history.delete(key); });

  // The states this actor publishes itself (the supervisor adds `failed` after a crash and
  // `complete`): `started` only once a process really was spawned (or there is nothing to
  // run), `failed` while a config cannot run, `ready` while every config's process is ready.
  const failing = () => st.failing.value.size > 0;
  t.assertDataflow(config, () => (!failing() && st.synced.value && (st.spawned.value || st.total.value === 0)
    ? Service.state(name, 'started') : undefined));
  t.assertDataflow(config, () => (!failing() && st.unready.value === 0 ? Service.state(name, 'ready') : undefined));
  t.assertDataflow(config, () => (failing() ? Service.state(name, 'failed') : undefined));
  t.assertDataflow(config, () => {
    const reasons = [...st.failing.value.values()];
    return reasons.length > 0 ? new Record<Ref>($serviceError, [name, reasons[reasons.length - 1]]) : undefined;
  });
  t.assertDataflow(config, () => daemonStatusRecord(name, st.status.value));
  t.dataflow((t) => {
    if (st.total.value > 0 && st.completed.value === st.total.value) {
      // Every config has completed: the daemon ends normally (→ `complete`). Checked again in
      // a turn of its own so a config appearing in the same turn still counts.
      t.onCommit(() => root.turn((t) => {
        if (st.total.value > 0 && st.completed.value === st.total.value) t.stopActor();
      }));
    }
  });

  t.during(config, P.rec($daemon, P.lit(id), P.bind()), (t, [specValue]) => {
    const n = ++st.serial;
    st.unready.value++;
    st.total.value++;
    t.onStop(() => {
      st.unready.value--;
      st.total.value--;
      setFailing(st, n, null);
      st.nextAttempts.delete(n);
    });
    let spec: DaemonSpec;
    try {
      spec = parseDaemonSpec(specValue);
    } catch (e) {
      if (!(e instanceof DaemonSpecError)) throw e;
      // Never `started`: the config is failed with the reason until it is replaced. Retrying
      // cannot help, so it is not retried (the reference ignores form errors and crashes the
      // actor over option errors, which only loops).
      const why = e.kind === 'form' ? `Invalid Process specification: ${e.message}` : `invalid daemon spec: ${e.message}`;
      st.sink.note(t, 'error', why);
      setFailing(st, n, why);
      return;
    }
    runConfig(t, st, spec, n);
  });
  // All configs already present are counted before readiness is decided.
  t.sync(config, () => {
    st.unready.value--;
    st.synced.value = true;
  });
}

/** True once the system is shutting down: nothing is started or restarted any more. */
function stopping(ctx: DaemonContext): boolean {
  return ctx.registry.shuttingDown || isStopping(ctx.config);
}

/** Marks config `n` as failing with `why`, or (null) as running. */
function setFailing(st: DaemonState, n: number, why: string | null): void {
  const cur = st.failing.value;
  if (why === null ? !cur.has(n) : cur.get(n) === why) return;
  const next = new Map(cur);
  if (why === null) next.delete(n);
  else next.set(n, why);
  st.failing.value = next;
}

/** Runs the processes of one config, restarting them by policy, in the active (config) facet. */
function runConfig(t: Turn, st: DaemonState, spec: DaemonSpec, n: number): void {
  const configFacet = t.activeFacet;
  const backoff = new RestartBackoff({
    firstDelayMs: spec.restartDelayMs,
    maxDelayMs: spec.restartMaxDelayMs,
    resetAfterMs: spec.restartResetAfterMs,
  });
  let completed = false;
  st.sink.openFile(spec);

  const setStatus = (patch: Partial<DaemonStatus>): void => {
    const pid = st.live.length > 0 ? st.live[st.live.length - 1].pid : null;
    const due = [...st.nextAttempts.values()];
    const nextAttempt = due.length > 0 ? rfc3339(new Date(Math.min(...due))) : null;
    st.status.value = { ...st.status.value, pid, since: rfc3339(new Date()), nextAttempt, ...patch };
  };

  /** Schedules the next start after `delay` ms, counted as a restart and published. */
  const restartAfter = (t: Turn, delay: number, patch: Partial<DaemonStatus> = {}): void => {
    st.history.restarts++;
    st.nextAttempts.set(n, Date.now() + delay);
    setStatus({ restarts: st.history.restarts, ...patch });
    if (delay === 0) start(t);
    else t.after(delay, start);
  };

  /**
   * The config cannot run (spawn failure, command not found): `failed` with the reason, and
   * another attempt after the backoff of every failure. One log line per attempt.
   */
  const failAttempt = (t: Turn, why: string, uptimeMs: number, pid: number | null): void => {
    st.history.lastExit = why;
    setFailing(st, n, why);
    if (stopping(st.ctx)) return;
    if (spec.restart === 'never') {
      st.sink.note(t, 'error', `${why}; restart: never, so no further attempt`, pid);
      setStatus({ lastExit: why });
      return;
    }
    const delay = backoff.nextDelay(false, uptimeMs);
    st.sink.note(t, 'error', `${why}; attempt ${backoff.consecutive} failed, next in ${showDelay(delay)}`, pid);
    restartAfter(t, delay, { lastExit: why });
  };

  /** The verdict after a process ended (after `finish`, if any), in the config facet. */
  const decide = (t: Turn, success: boolean, uptimeMs: number, unhealthy: boolean, what: string): void => {
    let d: ExitDecision = decideOnExit(spec.restart, success);
    if (unhealthy) d = spec.restart === 'all' ? 'crash' : 'restart';
    switch (d) {
      case 'complete':
        if (!completed) {
          completed = true;
          st.completed.value++;
          t.onStop(() => {
            completed = false;
            st.completed.value--;
          });
        }
        return;
      case 'crash': {
        const message = `process ${what}; restart policy "all" restarts the whole daemon`;
        st.sink.note(t, 'error', message);
        crashLater(st.root, message);
        return;
      }
      case 'restart': {
        if (stopping(st.ctx)) return;
        restartAfter(t, backoff.nextDelay(success, uptimeMs));
        return;
      }
    }
  };

  /** Starts one process in a child facet of the config facet. */
  const start = (t: Turn): void => {
    st.nextAttempts.delete(n);
    if (stopping(st.ctx)) return;
    t.facet((t) => {
      t.preventInertCheck();
      const facet = t.activeFacet;
      let proc: DaemonProcess | null = null;
      let released = false;
      let ready = false;
      let unhealthy = false;
      let health: HealthCheck | null = null;
      const pidBox: { pid: number | null } = { pid: null };
      t.onRelease(() => {
        released = true;
        if (proc !== null) {
          st.track(proc.stop());
          const i = st.live.indexOf(proc);
          if (i >= 0) st.live.splice(i, 1);
        }
        if (health !== null) st.track(health.stop());
      });

      const startHealth = (): void => {
        if (spec.healthCheck === null || health !== null || released) return;
        health = HealthCheck.start({
          ...spec.healthCheck,
          env: spec.env,
          clearEnv: spec.clearEnv,
          dir: spec.dir,
          onUnhealthy: (last) => facet.turn((t) => {
            if (proc === null) return;
            unhealthy = true;
            st.sink.note(t, 'error', `health check failed ${spec.healthCheck!.failures} time(s) in a row (${describeCheck(last)}); restarting`, proc.pid);
            st.track(proc.stop());
          }),
        });
      };
      const becomeReady = (t: Turn): void => {
        if (ready) return;
        ready = true;
        // Readiness is proof the program runs: a failing config is failing no more.
        setFailing(st, n, null);
        st.spawned.value = true;
        st.unready.value--;
        t.onStop(() => void st.unready.value++);
        startHealth();
      };

      const exited = (t: Turn, p: DaemonProcess, status: ExitStatus): void => {
        const uptime = Date.now() - p.startedAt;
        const what = `${p.pid} ended: ${describeExit(status)}${unhealthy ? ' (unhealthy)' : ''}`;
        const success = isSuccess(status) && !unhealthy;
        const i = st.live.indexOf(p);
        if (i >= 0) st.live.splice(i, 1);
        if (p.cgroupJoinError !== null) {
          // The process could not enter its cgroup and did not run its program: it never started.
          t.stop(facet, (t) => failAttempt(t, `${p.cgroupJoinError} (exit 126)`, uptime, p.pid));
          return;
        }
        if (spec.command.kind === 'shell' && status.code === 127) {
          // `sh -c` reports a program the machine lacks as exit 127: a failure like a failed
          // spawn (failed, retried with backoff), not a process that ran.
          const why = `command not found: ${showCommand(spec.command)} (sh exit 127)`;
          t.stop(facet, (t) => failAttempt(t, why, uptime, p.pid));
          return;
        }
        // The program ran: whatever it failed at, it is no longer "cannot start".
        setFailing(st, n, null);
        st.spawned.value = true;
        st.sink.note(t, success ? 'info' : 'warn', `process ${what}`, p.pid);
        st.history.lastExit = describeExit(status);
        setStatus({ lastExit: st.history.lastExit });
        const wasUnhealthy = unhealthy;
        t.stop(facet, (t) => {
          if (spec.finish === null) {
            decide(t, success, uptime, wasUnhealthy, what);
            return;
          }
          const finishing = runFinish({
            command: spec.finish,
            status,
            env: spec.env,
            clearEnv: spec.clearEnv,
            dir: spec.dir,
            stopTimeoutMs: spec.stopTimeoutMs,
            onLine: (stream, line) => st.sink.line(null, stream, line),
          });
          st.track(finishing);
          finishing.then(
            (fs) => configFacet.turn((t) => {
              if (!isSuccess(fs)) st.sink.note(t, 'warn', `finish ${describeExit(fs)}`);
              decide(t, success, uptime, wasUnhealthy, what);
            }),
            (e) => configFacet.turn((t) => {
              st.sink.note(t, 'error', `finish: ${e instanceof Error ? e.message : String(e)}`);
              decide(t, success, uptime, wasUnhealthy, what);
            }));
        });
      };

      const options = {
        ...spec,
        command: commandUnderRoot(spec.command, st.ctx.options.rootDir),
        runtimeDir: st.ctx.options.runtimeDir,
        ...st.ctx.processFiles.next(),
        outputGate: st.sink,
        onLine: (stream: OutputStreamName, line: OutputLine) => st.sink.line(pidBox.pid, stream, line),
        onReady: () => facet.turn(becomeReady),
      };
      /** The process runs: published in turn `t` of this facet. */
      const running = (t: Turn, p: DaemonProcess): void => {
        // A retry of a failing config clears `failed` only once the process shows it runs
        // (ready, or up for a while), so a command that dies at once never flashes `started`.
        const wasFailing = st.failing.value.has(n);
        const proven = (t: Turn): void => {
          setFailing(st, n, null);
          st.spawned.value = true;
          if (spec.readyOnStart) becomeReady(t);
        };
        if (!wasFailing) proven(t);
        else t.after(PROOF_MS, (t) => { if (p.exitStatus === null) proven(t); });
        setStatus({});
        if (spec.readyNotify === null && !spec.readyOnStart) startHealth();
        if (spec.protocol !== 'none') relayStdio(t, st, spec, p);
      };
      const adopt = (p: DaemonProcess): boolean => {
        proc = p;
        pidBox.pid = p.pid;
        if (released) {
          st.track(p.stop());
          return false;
        }
        st.live.push(p);
        p.exited.then((status) => facet.turn((t) => exited(t, p, status)));
        return true;
      };
      // Spawned in this very turn when nothing needs awaiting first: a respawn at
      // `restartDelay: 0` then replaces the process within the exit's turn, without a turn
      // (and a `ready` retracted and asserted again) in between.
      const now = DaemonProcess.startNow(options);
      if (now !== null) {
        st.track(now.exited);
        if (adopt(now)) running(t, now);
        return;
      }
      const starting = DaemonProcess.start(options);
      st.track(starting.then((p) => p.exited));
      starting.then((p) => {
        if (adopt(p)) facet.turn((t) => running(t, p));
      }, (e: unknown) => facet.turn((t) => {
        // A program (or directory) the machine lacks, or no descriptors (EMFILE): one log line,
        // `failed` with the reason, and another attempt after the backoff.
        const err = e instanceof SpawnError ? e : new SpawnError(commandProgram(spec.command), e);
        t.stop(facet, (t) => failAttempt(t, err.message, 0, null));
      }));
    });
  };

  start(t);
}

/** How long a retried process of a failing config must run before it counts as started. */
const PROOF_MS = 1000;

/** `750 ms`, `2 s`, `1.5 min`. */
function showDelay(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  return `${Math.round(ms / 6000) / 10} min`;
}

/**
 * A protocol daemon (spec §3.5): a relay over the child's stdout/stdin that exports nothing and
 * imports the child's OID 0, published as `<service-object NAME #:peer>` while the relay runs
 * (until the child's stdout closes or the process's facet ends).
 */
function relayStdio(t: Turn, st: DaemonState, spec: DaemonSpec, p: DaemonProcess): void {
  if (p.stdout === null || p.stdin === null) return;
  const { stdout, stdin } = p;
  t.facet((t) => {
    const holder = t.activeFacet;
    const relay = attachRelay(t, stdout, stdin, {
      syntax: spec.protocol === 'text/syndicate' ? 'text' : 'binary',
      importOid0: true,
      name: `${showName(st.ctx.name)}[${p.pid}] relay`,
      onClose: (error) => holder.turn((t) => {
        if (error !== undefined) st.sink.note(t, 'warn', `relay closed: ${error.message}`, p.pid);
        t.stop();
      }),
    });
    if (relay.peer !== null) t.assert(st.ctx.config, Service.object(st.ctx.name, new Embedded<Ref>(relay.peer)));
  });
}

function showName(name: Assertion): string {
  try {
    return stringify(name);
  } catch {
    return 'daemon';
  }
}

/** Crashes the daemon actor in a turn of its own, after the current one has sent its log lines. */
function crashLater(root: Facet, message: string): void {
  root.turn(() => {
    throw new Error(message);
  });
}

function describeCheck(r: CheckResult): string {
  if ('error' in r) return r.error.message;
  return r.timedOut ? 'timed out' : describeExit(r.status);
}

/** Lines waiting for their turn to go to the log dataspace; more are counted, not kept. */
export const MAX_PENDING_LOG_LINES = 1000;
/** Bytes of log file lines not yet written past which the child's pipes are paused. */
export const MAX_LOG_FILE_BACKLOG = 1 << 20;

/**
 * Output lines and the service's own notes: `<log …>` messages in the log dataspace, and lines
 * in the per-service log file. Process output arrives outside the engine; it is batched into
 * one turn of the daemon's root facet per burst. Memory is bounded: as the `OutputGate` of the
 * daemon's processes it pauses their pipes while the file writer or the engine is behind, and
 * at most `MAX_PENDING_LOG_LINES` lines wait for the log dataspace (the rest of a burst is
 * counted and reported in one line; the log file still gets every line).
 */
class LogSink implements OutputGate {
  private pending: Assertion[] = [];
  private dropped = 0;
  private file: LogFile | null = null;
  private opening: Promise<LogFile | null> | null = null;
  private early: [string, OutputLine, Date][] = [];
  private earlyBytes = 0;
  private closed = false;
  private resumers: (() => void)[] = [];
  private settling = false;

  constructor(private readonly root: Facet, private readonly ctx: DaemonContext) {}

  /** Opens the log directory (once per daemon actor) with the first config's limits. */
  openFile(spec: DaemonSpec): void {
    const dir = this.ctx.options.logDir;
    if (dir === undefined || this.opening !== null) return;
    this.opening = ensurePrivateDir(dir).then(() => LogFile.open(path.join(dir, serviceLogDirName(this.ctx.name)), {
      maxSize: spec.logMaxSize,
      files: spec.logFiles,
      onError: (e) => this.root.turn((t) => this.note(t, 'error', `log file: ${e.message}`)),
    })).then((f) => {
      // Lines that came while the directory was being opened are written even if the daemon
      // has ended meanwhile; `close()` waits for this.
      this.file = f;
      for (const [s, l, at] of this.early) f.write(s, l, at);
      this.early = [];
      this.earlyBytes = 0;
      this.maybeOpen();
      return f;
    }, (e: unknown) => {
      this.early = [];
      this.earlyBytes = 0;
      this.root.turn((t) => this.note(t, 'error', `cannot open log directory: ${e instanceof Error ? e.message : String(e)}`));
      this.maybeOpen();
      return null;
    });
  }

  /** One output line of a process (called outside the engine). */
  line(pid: number | null, stream: OutputStreamName, line: OutputLine): void {
    const at = new Date();
    this.toFile(stream, line, at);
    if (this.pending.length >= MAX_PENDING_LOG_LINES) {
      this.dropped++;
      return;
    }
    this.pending.push(this.record(at, pid, sym(stream), typeof line === 'string' ? line : new Bytes(line)));
    if (this.pending.length === 1) this.root.turn((t) => this.flush(t));
  }

  /** A line of the service's own (spawn errors, exits, invalid specs), in turn `t`. */
  note(t: Turn, level: 'info' | 'warn' | 'error', text: string, pid: number | null = null): void {
    const at = new Date();
    this.toFile('daemon', text, at);
    this.flush(t);
    t.message(this.ctx.log, this.noteRecord(at, level, text, pid));
  }

  /** `OutputGate`: behind when lines wait for the engine or the file writer. */
  blocked(): boolean {
    return this.pending.length >= MAX_PENDING_LOG_LINES || this.earlyBytes > MAX_LOG_FILE_BACKLOG
      || (this.file?.backlog ?? 0) > MAX_LOG_FILE_BACKLOG;
  }

  /** `OutputGate`: `resume` runs once the file writer has drained and the engine is idle. */
  whenOpen(resume: () => void): void {
    if (this.closed) return resume();
    this.resumers.push(resume);
    this.maybeOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.openNow();
    const f = await this.opening;
    await f?.close();
  }

  private maybeOpen(): void {
    if (this.resumers.length === 0 || this.settling) return;
    if (this.pending.length > 0 || this.earlyBytes > 0) return; // flush / open calls again
    const f = this.file;
    if (f !== null && f.backlog > 0) {
      f.whenDrained(() => this.maybeOpen());
      return;
    }
    // The lines of the last flush are messages still travelling through the engine: resume
    // reading once it has delivered them, so the run queue cannot grow without bound either.
    this.settling = true;
    void settle().then(() => {
      this.settling = false;
      this.openNow();
    });
  }

  private openNow(): void {
    const rs = this.resumers;
    this.resumers = [];
    for (const r of rs) r();
  }

  private flush(t: Turn): void {
    const lines = this.pending;
    const dropped = this.dropped;
    if (lines.length === 0 && dropped === 0) return;
    this.pending = [];
    this.dropped = 0;
    for (const r of lines) t.message(this.ctx.log, r);
    if (dropped > 0) {
      // The file has them all; the log dataspace (and the console) get the count.
      t.message(this.ctx.log, this.noteRecord(new Date(), 'warn', `${dropped} output line(s) not sent to the log dataspace (too fast); all are in the log file`, null));
    }
    this.maybeOpen();
  }

  private toFile(stream: string, line: OutputLine, at: Date): void {
    if (this.closed) return;
    if (this.file !== null) this.file.write(stream, line, at);
    else if (this.opening !== null) {
      this.early.push([stream, line, at]);
      this.earlyBytes += line.length;
    }
  }

  private noteRecord(at: Date, level: 'info' | 'warn' | 'error', text: string, pid: number | null): Record<Ref> {
    const r = this.record(at, pid, sym('daemon'), text);
    (r.fields[1] as Dictionary<Ref>).set(sym('level'), sym(level));
    return r;
  }

  private record(at: Date, pid: number | null, stream: symbol, line: string | Bytes): Record<Ref> {
    const d = new Dictionary<Ref>();
    d.set(sym('pid'), pid ?? sym('unknown'));
    d.set(sym('service'), this.ctx.name);
    d.set(sym('stream'), stream);
    d.set(sym('line'), line);
    return new Record<Ref>($log, [rfc3339(at), d]);
  }
}
