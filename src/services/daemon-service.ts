// The daemon service (syndicate-server spec §3, plus the "beyond the reference" keys): for each
// `<run-service <daemon ID>>`, a supervised actor that runs one process per `<daemon ID SPEC>`
// config, publishes readiness and completion, restarts processes by policy with backoff, runs
// `finish` and health checks, and sends every output line to the log dataspace and a log file.
import path from 'node:path';
import { createHash } from 'node:crypto';
import { Bytes, Dictionary, Embedded, Record, stringify, sym, valueKey } from '../preserves/index.ts';
import { P, type Assertion, type Facet, type Field, type Ref, type Turn } from '../bus/index.ts';
import { rfc3339 } from '../config-lang/evaluator.ts';
import { attachRelay } from '../relay/relay.ts';
import { RestartBackoff, decideOnExit, type ExitDecision } from './backoff.ts';
import { commandProgram, commandUnderRoot, showCommand } from './command.ts';
import { DaemonProcess, type OutputStreamName } from './daemon-process.ts';
import { PendingSet, daemonRegistry, type DaemonHistory, type DaemonRegistry, type RunningDaemon } from './daemon-registry.ts';
import { DaemonSpecError, parseDaemonSpec, type DaemonSpec } from './daemon-spec.ts';
import { describeExit, isSuccess, type ExitStatus } from './exit-status.ts';
import { runFinish } from './finish-command.ts';
import { HealthCheck, type CheckResult } from './health-check.ts';
import type { OutputLine } from './line-splitter.ts';
import { LogFile } from './log-file.ts';
import { Service } from './service-protocol.ts';
import type { ServiceKind } from './service-listener.ts';
import { SpawnError } from './spawn-error.ts';

/** Where the daemon service keeps files. */
export interface DaemonServiceOptions {
  /** Per-service log directories go under this (`<logDir>/<serviceLogDirName(name)>/`); none if absent. */
  readonly logDir?: string;
  /** Where sd-notify sockets are made (default: the OS temp dir). */
  readonly runtimeDir?: string;
  /** `--root`: a program named by absolute path runs from under it when it is there (`commandUnderRoot`). */
  readonly rootDir?: string;
}

const $daemon = sym('daemon');
const $log = sym('log');
const $daemonStatus = sym('daemon-status');

/** The `<daemon ID>` service kind: supervised with policy on-error (spec §3.2). */
export function daemonService(config: Ref, log: Ref, options: DaemonServiceOptions = {}): ServiceKind {
  const registry = daemonRegistry(config);
  return {
    kind: 'daemon',
    pattern: P.bind(P.rec($daemon, P.bind())),
    policy: 'on-error',
    boot(t, name, [, id]) {
      runDaemon(t, { config, log, options, registry, name, id });
    },
  };
}

/** `<daemon-status NAME {pid restarts since lastExit}>`, asserted in config by each daemon. */
export function daemonStatusRecord(name: Assertion, info: DaemonStatus): Assertion {
  const d = new Dictionary<Ref>();
  d.set(sym('pid'), info.pid ?? false);
  d.set(sym('restarts'), info.restarts);
  d.set(sym('since'), info.since);
  d.set(sym('lastExit'), info.lastExit ?? false);
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
  readonly status: Field<DaemonStatus>;
  readonly history: DaemonHistory;
  readonly sink: LogSink;
  /** Live processes, newest last (for `pid` in the status). */
  readonly live: DaemonProcess[];
}

function runDaemon(t: Turn, ctx: DaemonContext): void {
  const { config, registry, name, id } = ctx;
  const key = valueKey(name);
  const self: RunningDaemon = { name, key, actor: t.actor, ops: new PendingSet() };
  registry.daemons.add(self);
  t.onRelease(() => void registry.daemons.delete(self));
  if (registry.shuttingDown) return;

  const root = t.activeFacet;
  const history = registry.historyOf(key);
  const st: DaemonState = {
    ctx,
    root,
    track: (p) => registry.track(self, p),
    unready: t.field(1, 'unready'),
    total: t.field(0, 'total'),
    completed: t.field(0, 'completed'),
    status: t.field<DaemonStatus>({ pid: null, restarts: history.restarts, since: rfc3339(new Date()), lastExit: history.lastExit }, 'status'),
    history,
    sink: new LogSink(root, ctx),
    live: [],
  };
  t.onRelease(() => st.track(st.sink.close()));
  // A clean end (completion, or the service no longer wanted) forgets the history; after a
  // crash it is kept for the next incarnation's status.
  t.actor.atExit((t) => { if (t.actor.exitReason?.ok) registry.history.delete(key); });

  t.assertDataflow(config, () => (st.unready.value === 0 ? Service.state(name, 'ready') : undefined));
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
    st.unready.value++;
    st.total.value++;
    t.onStop(() => {
      st.unready.value--;
      st.total.value--;
    });
    let spec: DaemonSpec;
    try {
      spec = parseDaemonSpec(specValue);
    } catch (e) {
      if (e instanceof DaemonSpecError && e.kind === 'form') {
        // The reference ignores it but it still counts: never ready, never complete.
        st.sink.note(t, 'error', `Invalid Process specification: ${e.message}`);
        return;
      }
      throw e; // an invalid option value crashes the daemon actor (→ failed, supervisor restart)
    }
    runConfig(t, st, spec);
  });
  // All configs already present are counted before readiness is decided.
  t.sync(config, () => void st.unready.value--);
}

/** Runs the processes of one config, restarting them by policy, in the active (config) facet. */
function runConfig(t: Turn, st: DaemonState, spec: DaemonSpec): void {
  const { registry } = st.ctx;
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
    st.status.value = { ...st.status.value, pid, since: rfc3339(new Date()), ...patch };
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
        if (registry.shuttingDown) return;
        const delay = backoff.nextDelay(success, uptimeMs);
        st.history.restarts++;
        setStatus({ restarts: st.history.restarts });
        if (delay === 0) start(t);
        else t.after(delay, start);
        return;
      }
    }
  };

  /** Starts one process in a child facet of the config facet. */
  const start = (t: Turn): void => {
    if (registry.shuttingDown) return;
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
        st.unready.value--;
        t.onStop(() => void st.unready.value++);
        startHealth();
      };

      const exited = (t: Turn, p: DaemonProcess, status: ExitStatus): void => {
        const uptime = Date.now() - p.startedAt;
        const what = `${p.pid} ended: ${describeExit(status)}${unhealthy ? ' (unhealthy)' : ''}`;
        const success = isSuccess(status) && !unhealthy;
        st.sink.note(t, success ? 'info' : 'warn', `process ${what}`, p.pid);
        const i = st.live.indexOf(p);
        if (i >= 0) st.live.splice(i, 1);
        st.history.lastExit = describeExit(status);
        setStatus({ lastExit: st.history.lastExit });
        const wasUnhealthy = unhealthy;
        if (spec.command.kind === 'shell' && status.code === 127) {
          // `sh -c` reports a program the machine lacks as exit 127: like a failed spawn, the
          // service is `failed` (and retried by its supervisor) rather than restarting forever.
          const why = `command not found: ${showCommand(spec.command)} (sh exit 127)`;
          st.sink.note(t, 'error', why, p.pid);
          crashLater(st.root, why);
          return;
        }
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

      const starting = DaemonProcess.start({
        ...spec,
        command: commandUnderRoot(spec.command, st.ctx.options.rootDir),
        runtimeDir: st.ctx.options.runtimeDir,
        onLine: (stream, line) => st.sink.line(pidBox.pid, stream, line),
        onReady: () => facet.turn(becomeReady),
      });
      st.track(starting.then((p) => p.exited));
      starting.then((p) => {
        proc = p;
        pidBox.pid = p.pid;
        if (released) {
          st.track(p.stop());
          return;
        }
        st.live.push(p);
        facet.turn((t) => {
          setStatus({});
          if (spec.readyOnStart) becomeReady(t);
          else if (spec.readyNotify === null) startHealth();
          if (spec.protocol !== 'none') relayStdio(t, st, spec, p);
        });
        p.exited.then((status) => facet.turn((t) => exited(t, p, status)));
      }, (e: unknown) => facet.turn((t) => {
        // A program (or directory) the machine lacks: a clear log line, then `failed` — the
        // daemon actor crashes and the supervisor retries it (200 ms, then 10 s).
        const err = e instanceof SpawnError ? e : new SpawnError(commandProgram(spec.command), e);
        st.history.lastExit = err.message;
        setStatus({ lastExit: err.message });
        st.sink.note(t, 'error', err.message);
        crashLater(st.root, err.message);
      }));
    });
  };

  start(t);
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

/**
 * Output lines and the service's own notes: `<log …>` messages in the log dataspace, and lines
 * in the per-service log file. Process output arrives outside the engine; it is batched into
 * one turn of the daemon's root facet per burst.
 */
class LogSink {
  private pending: Assertion[] = [];
  private file: LogFile | null = null;
  private opening: Promise<LogFile | null> | null = null;
  private early: [string, OutputLine, Date][] = [];
  private closed = false;

  constructor(private readonly root: Facet, private readonly ctx: DaemonContext) {}

  /** Opens the log directory (once per daemon actor) with the first config's limits. */
  openFile(spec: DaemonSpec): void {
    const dir = this.ctx.options.logDir;
    if (dir === undefined || this.opening !== null) return;
    this.opening = LogFile.open(path.join(dir, serviceLogDirName(this.ctx.name)), {
      maxSize: spec.logMaxSize,
      files: spec.logFiles,
      onError: (e) => this.root.turn((t) => this.note(t, 'error', `log file: ${e.message}`)),
    }).then((f) => {
      // Lines that came while the directory was being opened are written even if the daemon
      // has ended meanwhile; `close()` waits for this.
      this.file = f;
      for (const [s, l, at] of this.early) f.write(s, l, at);
      this.early = [];
      return f;
    }, (e: unknown) => {
      this.root.turn((t) => this.note(t, 'error', `cannot open log directory: ${e instanceof Error ? e.message : String(e)}`));
      return null;
    });
  }

  /** One output line of a process (called outside the engine). */
  line(pid: number | null, stream: OutputStreamName, line: OutputLine): void {
    const at = new Date();
    this.toFile(stream, line, at);
    this.pending.push(this.record(at, pid, sym(stream), typeof line === 'string' ? line : new Bytes(line)));
    if (this.pending.length === 1) this.root.turn((t) => this.flush(t));
  }

  /** A line of the service's own (spawn errors, exits, invalid specs), in turn `t`. */
  note(t: Turn, level: 'info' | 'warn' | 'error', text: string, pid: number | null = null): void {
    const at = new Date();
    this.toFile('daemon', text, at);
    this.flush(t);
    const r = this.record(at, pid, sym('daemon'), text);
    (r.fields[1] as Dictionary<Ref>).set(sym('level'), sym(level));
    t.message(this.ctx.log, r);
  }

  async close(): Promise<void> {
    this.closed = true;
    const f = await this.opening;
    await f?.close();
  }

  private flush(t: Turn): void {
    const lines = this.pending;
    if (lines.length === 0) return;
    this.pending = [];
    for (const r of lines) t.message(this.ctx.log, r);
  }

  private toFile(stream: string, line: OutputLine, at: Date): void {
    if (this.closed) return;
    if (this.file !== null) this.file.write(stream, line, at);
    else if (this.opening !== null) this.early.push([stream, line, at]);
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
