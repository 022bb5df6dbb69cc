// One running process of a daemon, as the OS sees it: spawned in its own session (so its own
// process group), output split into lines, readiness from fd N or sd_notify, and a stop that
// takes the whole group down. Knows nothing of dataspaces; the daemon service drives it.
import { accessSync, constants, statSync } from 'node:fs';
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { execArgs, commandProgram, leadingProgram, type Command } from './command.ts';
import type { DaemonProtocol, ReadyNotify } from './daemon-spec.ts';
import type { ExitStatus } from './exit-status.ts';
import { LineSplitter, type OutputLine } from './line-splitter.ts';
import { Cgroup, JOIN_FAILED, killCgroup, waitCgroupEmpty } from './cgroup.ts';
import { groupHasLiveMember, signalGroup, waitGroupGone } from './process-group.ts';
import { NotifySocket, type NotifyMessage } from './sd-notify.ts';
import { spawnChild, spawnChildNow, type StartedChild } from './spawn-child.ts';
import { SpawnError } from './spawn-error.ts';

/** Which of the process's output streams a line came from. */
export type OutputStreamName = 'stdout' | 'stderr';

/** How to run one process; the fields mirror the daemon spec keys. */
export interface DaemonProcessOptions {
  readonly command: Command;
  /** Appended to the command line (for a shell command: `$1`…, with `$0` = `name`). */
  readonly extraArgs?: readonly string[];
  /** `$0` of a shell command given `extraArgs`; default `sh`. */
  readonly name?: string;
  /** Variables to set (string) or remove (null), applied after `clearEnv`. */
  readonly env?: ReadonlyMap<string, string | null>;
  readonly clearEnv?: boolean;
  readonly dir?: string | null;
  /** Grace between SIGTERM and SIGKILL of the group; default 10 s. */
  readonly stopTimeoutMs?: number;
  readonly readyNotify?: ReadyNotify | null;
  /** Where the sd-notify socket's private directory is made; default the OS temp dir. */
  readonly runtimeDir?: string;
  /** Not `none` (the default): stdin is a pipe and stdout is left raw for the Syndicate relay. */
  readonly protocol?: DaemonProtocol;
  /** Every output line (stderr, and stdout when `protocol` is `none`), trailing `\n` kept as in the reference. */
  readonly onLine?: (stream: OutputStreamName, line: OutputLine) => void;
  /** Back-pressure: asked after every chunk of output whether reading should pause. */
  readonly outputGate?: OutputGate;
  /**
   * A cgroup (v2) folder to create and start the process in: stop then ends every process in it,
   * setsid escapees included. Removed once empty. Without it, the process group only.
   */
  readonly cgroup?: string;
  /**
   * A file to write `PID STARTTIME PGID CGROUP` into once the process runs (just after `start`
   * resolves), removed when it is gone: what a bus started after this one was killed uses to
   * stop what it left.
   */
  readonly pidFile?: string;
  /** Called once when the process signals readiness through `readyNotify`. */
  readonly onReady?: () => void;
  /** Every sd_notify message (`STATUS=…` etc.), including the one that carried `READY=1`. */
  readonly onNotify?: (message: NotifyMessage) => void;
}

/** Lets a slow consumer of output pause the child's pipes (the child then blocks on write). */
export interface OutputGate {
  /** True when the consumer is behind: reading pauses until `whenOpen`'s callback runs. */
  blocked(): boolean;
  /** Calls `resume` once the consumer has caught up. */
  whenOpen(resume: () => void): void;
}

/** Output is split into lines at most this many bytes per event-loop turn. */
const SLICE_BYTES = 4096;

/** How long output may trail after the group is gone (a setsid'd escapee may hold the pipe). */
const OUTPUT_DRAIN_MS = 1000;
/** How long to wait for the group to vanish after SIGKILL before giving up on it. */
const KILL_WAIT_MS = 5000;

/** A running (or finished) process and its process group. */
export class DaemonProcess {
  /** Process id, which is also the process group id (the child leads a new session). */
  readonly pid: number;
  /** `Date.now()` at spawn, for uptime (backoff reset). */
  readonly startedAt: number;
  /** Resolves once the process has exited, its group is empty and its output is delivered. */
  readonly exited: Promise<ExitStatus>;
  /** The child's stdin, for the Syndicate relay when `protocol` is not `none`; else null. */
  readonly stdin: Writable | null;
  /** The child's raw stdout, for the Syndicate relay when `protocol` is not `none`; else null. */
  readonly stdout: Readable | null;

  private readonly stopTimeoutMs: number;
  private isReady = false;
  private status: ExitStatus | null = null;
  private done = false;
  private groupCleared: Promise<boolean> | null = null;
  private stopping: Promise<ExitStatus> | null = null;

  private readonly cgroup: Cgroup | null;
  private joinError: string | null = null;

  private constructor(child: StartedChild, exit: Promise<ExitStatus>, options: DaemonProcessOptions, notify: NotifySocket | null,
    readyRef: { fire: () => void }, cgroup: Cgroup | null, pidWritten: Promise<void>) {
    this.pid = child.pid;
    this.cgroup = cgroup;
    this.startedAt = Date.now();
    this.stopTimeoutMs = options.stopTimeoutMs ?? 10_000;
    const relay = (options.protocol ?? 'none') !== 'none';
    this.stdin = relay ? child.stdin : null;
    this.stdout = relay ? child.stdout : null;
    readyRef.fire = () => {
      // Readiness that loses the race with the exit is dropped: an exited process is not ready.
      if (this.isReady || this.status !== null) return;
      this.isReady = true;
      options.onReady?.();
    };

    // Output is delivered once every split stream has ended: counted, not a promise per stream,
    // and the exit waits (with a timer) only when one is still open.
    let open = 0;
    let allDrained: (() => void) | null = null;
    const owned: Readable[] = [];
    const split = (stream: Readable | null, name: OutputStreamName) => {
      if (stream === null) return;
      owned.push(stream);
      // The first stderr lines of a process in a cgroup may say it could not join it.
      let watch = name === 'stderr' && cgroup !== null ? 2 : 0;
      const splitter = new LineSplitter(watch === 0 ? (line) => options.onLine?.(name, line) : (line) => {
        if (watch > 0) {
          watch--;
          const text = typeof line === 'string' ? line : Buffer.from(line).toString();
          if (text.startsWith(JOIN_FAILED)) this.joinError = text.trim();
        }
        options.onLine?.(name, line);
      });
      const gate = options.outputGate;
      // Why reading is paused: the consumer is behind, and/or a chunk is being split in slices.
      let gated = false;
      let slicing = false;
      const resume = () => { if (!gated && !slicing) stream.resume(); };
      const checkGate = () => {
        // Back-pressure: stop reading while the consumer is behind; the pipe fills and the
        // child blocks on write, so a chatty daemon costs no more memory than one chunk.
        if (gate === undefined || gated || !gate.blocked()) return;
        gated = true;
        stream.pause();
        gate.whenOpen(() => { gated = false; resume(); });
      };
      stream.on('data', (chunk: Buffer) => {
        if (chunk.length <= SLICE_BYTES) {
          splitter.push(chunk);
          checkGate();
          return;
        }
        // A 64 KiB chunk of short lines is thousands of lines: split it a slice per turn of
        // the event loop so timers and I/O run in between.
        slicing = true;
        stream.pause();
        let at = 0;
        const step = () => {
          splitter.push(chunk.subarray(at, at + SLICE_BYTES));
          at += SLICE_BYTES;
          checkGate();
          if (at < chunk.length) {
            setImmediate(step);
            return;
          }
          slicing = false;
          resume();
        };
        step();
      });
      open++;
      // 'end' (every byte read) comes a loop iteration before 'close'; 'close' alone after an error.
      let ended = false;
      const end = () => {
        if (ended) return;
        ended = true;
        splitter.end();
        if (--open === 0) allDrained?.();
      };
      stream.once('end', end);
      stream.once('close', end);
    };
    if (!relay) split(child.stdout, 'stdout');
    split(child.stderr, 'stderr');
    const notifyFd = options.readyNotify?.kind === 'fd' ? child.stdio[options.readyNotify.fd] : null;
    if (notifyFd) {
      // Node types extra stdio entries as Readable | Writable; a child-to-parent pipe is readable.
      const fdStream = notifyFd as Readable;
      owned.push(fdStream);
      // Keep reading after readiness: closing our end would SIGPIPE a daemon that writes again.
      fdStream.on('data', (chunk: Buffer) => { if (chunk.includes(0x0a)) readyRef.fire(); });
      fdStream.on('error', () => {});
    }

    this.exited = new Promise<ExitStatus>((resolve) => {
      void exit.then((status) => {
        this.status = status;
        void (async () => {
          // The leader is gone; members it left behind go too, so nothing outlives an exit.
          if (await this.anyLeft()) await this.clearGroup();
          await this.cgroup?.remove();
          // After the write, or a quick exit would leave a stale pid file behind.
          await pidWritten;
          if (options.pidFile !== undefined) await rm(options.pidFile, { force: true });
          if (open > 0) {
            let timer: NodeJS.Timeout | undefined;
            await new Promise<void>((r) => {
              allDrained = r;
              timer = setTimeout(r, OUTPUT_DRAIN_MS);
            });
            clearTimeout(timer);
          }
          for (const s of owned) s.destroy();
          await notify?.close();
          this.done = true;
          resolve(status);
        })();
      });
    });
  }

  /**
   * Spawns the process. Resolves once it is running; throws `SpawnError` (naming the program or
   * the missing directory) when it cannot start, so a supervisor can count it as an error exit.
   */
  static async start(options: DaemonProcessOptions): Promise<DaemonProcess> {
    const sdNotify = options.readyNotify?.kind === 'sd-notify';
    const { env, inherit } = spawnEnv(options);

    // `sh -c "dockerd --experimental"` with no dockerd would only say so by exit 127 after
    // running (as would an argv program run through the cgroup join of `Cgroup.joinArgs`): a
    // plainly named program that is not there fails the spawn instead.
    const leading = checkedProgram(options);
    if (leading !== null) {
      const found = findProgram(leading, env.PATH, options.dir ?? null);
      if (found !== 'ok') {
        throw await spawnError(leading, options.dir ?? null, Object.assign(new Error(found === 'EACCES' ? 'permission denied' : 'not found'), { code: found }));
      }
    }

    const readyRef = { fire: () => {} };
    let notify: NotifySocket | null = null;
    if (sdNotify) {
      notify = await NotifySocket.open((m) => {
        options.onNotify?.(m);
        if (m.get('READY') === '1') readyRef.fire();
      }, options.runtimeDir);
      env.NOTIFY_SOCKET = notify.socketPath;
    }

    let cgroup: Cgroup | null = null;
    let child: StartedChild;
    try {
      if (options.cgroup !== undefined) cgroup = Cgroup.create(options.cgroup);
      const [file, args] = spawnArgs(options, cgroup, env);
      child = await spawnChild(file, args, {
        stdio: stdioFor(options),
        env: inherit ? undefined : env,
        cwd: options.dir ?? undefined,
        detached: true, // setsid(): own session and process group, pgid = pid
      }, commandProgram(options.command));
    } catch (e) {
      await notify?.close();
      await cgroup?.remove();
      if (e instanceof SpawnError && e.cause !== undefined) throw await spawnError(commandProgram(options.command), options.dir ?? null, e.cause);
      throw e instanceof SpawnError ? e : new SpawnError(commandProgram(options.command), e);
    }
    return DaemonProcess.attach(child, options, notify, readyRef, cgroup);
  }

  /**
   * Spawns the process without awaiting anything, when nothing needs the OS first (no sd-notify
   * socket; a shell command's program, if it names one, is on PATH): the caller can count it
   * started in the same turn, so a `restartDelay: 0` respawn is one turn, not two. Null when the
   * fast way does not apply or the spawn failed: `start` then does it and reports why.
   */
  static startNow(options: DaemonProcessOptions): DaemonProcess | null {
    if (options.readyNotify?.kind === 'sd-notify') return null;
    const { env, inherit } = spawnEnv(options);
    const leading = checkedProgram(options);
    if (leading !== null && findProgram(leading, env.PATH, options.dir ?? null) !== 'ok') return null;
    let cgroup: Cgroup | null = null;
    try {
      if (options.cgroup !== undefined) cgroup = Cgroup.create(options.cgroup);
    } catch {
      return null;
    }
    const [file, args] = spawnArgs(options, cgroup, env);
    const child = spawnChildNow(file, args, {
      stdio: stdioFor(options),
      env: inherit ? undefined : env,
      cwd: options.dir ?? undefined,
      detached: true, // setsid(): own session and process group, pgid = pid
    });
    // A cgroup made for a spawn that failed is reused by `start`'s attempt, which removes it.
    if (child === null) return null;
    return DaemonProcess.attach(child, options, null, { fire: () => {} }, cgroup);
  }

  /** The process object of a child that runs; everything is listened to before this returns. */
  private static attach(child: StartedChild, options: DaemonProcessOptions, notify: NotifySocket | null,
    readyRef: { fire: () => void }, cgroup: Cgroup | null): DaemonProcess {
    // No await from here on: the exit and output listeners go on at once (at a quick process's
    // exit Node discards the output of pipes that have no reader yet), and the caller holds the
    // process before any line or readiness can arrive. The pid file is written meanwhile.
    const exit = new Promise<ExitStatus>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    const pidFile = options.pidFile;
    const pidWritten = pidFile === undefined ? Promise.resolve() : (async () => {
      // Best effort: without it only the cgroup (if any) lets a later bus find this process.
      const start = await processStartTime(child.pid);
      await writeFile(pidFile, `${child.pid} ${start ?? 0} ${child.pid} ${cgroup?.dir ?? '-'}\n`, { mode: 0o600 }).catch(() => {});
    })();
    return new DaemonProcess(child, exit, options, notify, readyRef, cgroup, pidWritten);
  }

  /** True once the process has signalled readiness through `readyNotify`. */
  get ready(): boolean {
    return this.isReady;
  }

  /**
   * Why the process could not join its cgroup (then it exited 126 without running its
   * program), or null: known once `exited` resolves.
   */
  get cgroupJoinError(): string | null {
    return this.status?.code === 126 ? this.joinError : null;
  }

  /** How the leader ended, once it has; null while it runs. */
  get exitStatus(): ExitStatus | null {
    return this.status;
  }

  /**
   * SIGTERM to the whole group, SIGKILL after `stopTimeoutMs`; resolves with the leader's exit
   * status once no process of the group is alive. Safe to call repeatedly or after exit.
   */
  stop(): Promise<ExitStatus> {
    if (this.done) return this.exited;
    this.stopping ??= this.clearGroup().then(() => this.exited);
    return this.stopping;
  }

  private clearGroup(): Promise<boolean> {
    this.groupCleared ??= this.terminate();
    return this.groupCleared;
  }

  /** True while a live process of the group (or of the cgroup, if any) is left. */
  private async anyLeft(): Promise<boolean> {
    return await groupHasLiveMember(this.pid) || (this.cgroup !== null && (await this.cgroup.members()).length > 0);
  }

  /** TERM (and CONT) to the group and the cgroup, up to the grace, then KILL: true once empty. */
  private async terminate(): Promise<boolean> {
    const cg = this.cgroup;
    const signal = async (sig: NodeJS.Signals): Promise<void> => {
      signalGroup(this.pid, sig);
      if (cg !== null) await cg.signal(sig);
    };
    const gone = async (ms: number): Promise<boolean> => {
      const deadline = Date.now() + ms;
      if (!(await waitGroupGone(this.pid, ms))) return false;
      return cg === null || waitCgroupEmpty(cg.dir, Math.max(0, deadline - Date.now()));
    };
    await signal('SIGTERM');
    await signal('SIGCONT');
    if (await gone(this.stopTimeoutMs)) return true;
    signalGroup(this.pid, 'SIGKILL');
    if (cg !== null) await killCgroup(cg.dir).catch(() => {});
    return gone(KILL_WAIT_MS);
  }
}

/** Field 22 of /proc/PID/stat (start time in clock ticks since boot), or null if the process is gone. */
export async function processStartTime(pid: number): Promise<string | null> {
  const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => null);
  if (stat === null) return null;
  // Fields after the parenthesised command name; starttime is field 22, the 20th after it.
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
}

/** A SpawnError that names what was really missing: Node reports a bad cwd as the program. */
async function spawnError(program: string, dir: string | null, e: unknown): Promise<SpawnError> {
  if (dir !== null && (e as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
    const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
    if (!isDir) return new SpawnError(program, e, `working directory "${dir}" does not exist`);
  }
  return new SpawnError(program, e);
}

/**
 * The environment to spawn with. Without changes, process.env itself (`inherit`): Node copies
 * it once anyway, and a copy of ours first cost as much again (most of `start`'s own time).
 */
function spawnEnv(options: DaemonProcessOptions): { env: { [k: string]: string | undefined }; inherit: boolean } {
  const inherit = !options.clearEnv && (options.env === undefined || options.env.size === 0) && options.readyNotify?.kind !== 'sd-notify';
  if (inherit) return { env: process.env, inherit };
  const env: { [k: string]: string | undefined } = {};
  if (!options.clearEnv) for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  for (const [k, v] of options.env ?? []) {
    if (v === null) delete env[k];
    else env[k] = v;
  }
  return { env, inherit };
}

/** stdin (a pipe only for a protocol daemon), stdout and stderr pipes, and the readiness fd. */
function stdioFor(options: DaemonProcessOptions): ['pipe' | 'ignore', 'pipe', 'pipe', ...('pipe' | 'ignore')[]] {
  const extra: ('pipe' | 'ignore')[] = [];
  if (options.readyNotify?.kind === 'fd') {
    while (extra.length + 3 < options.readyNotify.fd) extra.push('ignore');
    extra.push('pipe');
  }
  return [(options.protocol ?? 'none') !== 'none' ? 'pipe' : 'ignore', 'pipe', 'pipe', ...extra];
}

/**
 * The program to look for before spawning: a shell command's plainly named first program, and
 * under a cgroup an argv's program too (it is exec'd by the joining `sh`, which would only
 * report a missing one as exit 127). Null when the spawn itself reports it.
 */
function checkedProgram(options: DaemonProcessOptions): string | null {
  const cmd = options.command;
  return cmd.kind === 'exec' ? (options.cgroup !== undefined ? cmd.argv[0] : null) : leadingProgram(cmd);
}

/** The file and arguments to spawn: the command, joining `cgroup` first when there is one. */
function spawnArgs(options: DaemonProcessOptions, cgroup: Cgroup | null, env: { [k: string]: string | undefined }): [string, string[]] {
  const [file, args] = execArgs(options.command, options.extraArgs, options.name);
  return cgroup === null ? [file, args] : cgroup.joinArgs(file, args, options.command.kind === 'shell', env.PWD !== undefined);
}

/** `sh`'s search path when PATH is unset (dash's default), as `exec` in the joining `sh` uses. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * Where each (PATH, dir, program) was last found. Only hits are kept, and a hit is checked
 * again (one stat and access) before it is believed: a program removed since is looked up in
 * full, one installed since is found by the full lookup a miss always makes.
 */
const foundPrograms = new Map<string, string>();

/**
 * Whether `program` (absolute, or a name looked up in `searchPath` relative to `dir`) is an
 * executable file: 'ok', 'EACCES' (a file, but none executable) or 'ENOENT'. Synchronous: a
 * few stat calls on cached directories, one when a cached hit is still there.
 */
function findProgram(program: string, searchPath: string | undefined, dir: string | null): 'ok' | 'EACCES' | 'ENOENT' {
  const key = `${dir ?? ''}\0${searchPath ?? ''}\0${program}`;
  const known = foundPrograms.get(key);
  if (known !== undefined) {
    if (executableFile(known) === 'ok') return 'ok';
    foundPrograms.delete(key);
  }
  const candidates = program.includes('/') ? [path.resolve(dir ?? '.', program)]
    : (searchPath ?? DEFAULT_PATH).split(':').map((d) => path.resolve(dir ?? '.', d === '' ? '.' : d, program));
  let result: 'EACCES' | 'ENOENT' = 'ENOENT';
  for (const c of candidates) {
    const r = executableFile(c);
    if (r === 'ok') {
      if (foundPrograms.size >= 1000) foundPrograms.clear();
      foundPrograms.set(key, c);
      return 'ok';
    }
    if (r === 'EACCES') result = 'EACCES';
  }
  return result;
}

function executableFile(file: string): 'ok' | 'EACCES' | 'ENOENT' {
  try {
    // No exception for a missing entry: throwing one per PATH entry was most of the lookup.
    if (statSync(file, { throwIfNoEntry: false })?.isFile() !== true) return 'ENOENT';
  } catch {
    return 'ENOENT';
  }
  try {
    accessSync(file, constants.X_OK);
    return 'ok';
  } catch {
    return 'EACCES';
  }
}
