// One running process of a daemon, as the OS sees it: spawned in its own session (so its own
// process group), output split into lines, readiness from fd N or sd_notify, and a stop that
// takes the whole group down. Knows nothing of dataspaces; the daemon service drives it.
import { execa } from 'execa';
import { stat } from 'node:fs/promises';
import type { ChildProcess } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { execArgs, commandProgram, type Command } from './command.ts';
import type { DaemonProtocol, ReadyNotify } from './daemon-spec.ts';
import type { ExitStatus } from './exit-status.ts';
import { LineSplitter, type OutputLine } from './line-splitter.ts';
import { groupMembers, terminateGroup } from './process-group.ts';
import { NotifySocket, type NotifyMessage } from './sd-notify.ts';
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
  /** Called once when the process signals readiness through `readyNotify`. */
  readonly onReady?: () => void;
  /** Every sd_notify message (`STATUS=…` etc.), including the one that carried `READY=1`. */
  readonly onNotify?: (message: NotifyMessage) => void;
}

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

  private constructor(child: ChildProcess & { pid: number }, options: DaemonProcessOptions, notify: NotifySocket | null,
    readyRef: { fire: () => void }) {
    this.pid = child.pid;
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

    const drained: Promise<void>[] = [];
    const owned: Readable[] = [];
    const split = (stream: Readable | null, name: OutputStreamName) => {
      if (stream === null) return;
      owned.push(stream);
      const splitter = new LineSplitter((line) => options.onLine?.(name, line));
      stream.on('data', (chunk: Buffer) => splitter.push(chunk));
      drained.push(new Promise((resolve) => stream.once('close', () => { splitter.end(); resolve(); })));
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
      child.once('exit', (code, signal) => {
        const status: ExitStatus = { code, signal };
        this.status = status;
        void (async () => {
          // The leader is gone; members it left behind go too, so nothing outlives an exit.
          if ((await groupMembers(this.pid)).length > 0) await this.clearGroup();
          let timer: NodeJS.Timeout | undefined;
          await Promise.race([
            Promise.all(drained),
            new Promise<void>((r) => { timer = setTimeout(r, OUTPUT_DRAIN_MS); }),
          ]);
          clearTimeout(timer);
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
    const env: { [k: string]: string } = {};
    if (!options.clearEnv) for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    for (const [k, v] of options.env ?? []) {
      if (v === null) delete env[k];
      else env[k] = v;
    }

    const readyRef = { fire: () => {} };
    let notify: NotifySocket | null = null;
    if (options.readyNotify?.kind === 'sd-notify') {
      notify = await NotifySocket.open((m) => {
        options.onNotify?.(m);
        if (m.get('READY') === '1') readyRef.fire();
      }, options.runtimeDir);
      env.NOTIFY_SOCKET = notify.socketPath;
    }

    const extra: ('pipe' | 'ignore')[] = [];
    if (options.readyNotify?.kind === 'fd') {
      while (extra.length + 3 < options.readyNotify.fd) extra.push('ignore');
      extra.push('pipe');
    }
    const stdio: ['pipe' | 'ignore', 'pipe', 'pipe', ...('pipe' | 'ignore')[]] =
      [(options.protocol ?? 'none') !== 'none' ? 'pipe' : 'ignore', 'pipe', 'pipe', ...extra];

    const [file, args] = execArgs(options.command, options.extraArgs, options.name);
    let child: ChildProcess;
    try {
      const sub = execa(file, args, {
        stdio,
        env,
        extendEnv: false,
        cwd: options.dir ?? undefined,
        detached: true, // setsid(): own session and process group, pgid = pid
        cleanup: false, // the reference leaves children alone when the server itself exits
        reject: false,
        buffer: false,
        forceKillAfterDelay: false,
      });
      // Exit is observed on the ChildProcess; execa's promise also waits for pipes a stray
      // grandchild may hold open, so it is only drained here.
      sub.then(() => {}, () => {});
      child = sub;
      await new Promise<void>((resolve, reject) => {
        child.once('spawn', resolve);
        child.once('error', reject);
      });
    } catch (e) {
      await notify?.close();
      throw await spawnError(commandProgram(options.command), options.dir ?? null, e);
    }
    if (child.pid === undefined) {
      await notify?.close();
      throw new SpawnError(commandProgram(options.command), null, 'no process id after spawn');
    }
    return new DaemonProcess(child as ChildProcess & { pid: number }, options, notify, readyRef);
  }

  /** True once the process has signalled readiness through `readyNotify`. */
  get ready(): boolean {
    return this.isReady;
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
    this.groupCleared ??= terminateGroup(this.pid, this.stopTimeoutMs, KILL_WAIT_MS);
    return this.groupCleared;
  }
}

/** A SpawnError that names what was really missing: Node reports a bad cwd as the program. */
async function spawnError(program: string, dir: string | null, e: unknown): Promise<SpawnError> {
  if (dir !== null && (e as NodeJS.ErrnoException | null)?.code === 'ENOENT') {
    const isDir = await stat(dir).then((s) => s.isDirectory(), () => false);
    if (!isDir) return new SpawnError(program, e, `working directory "${dir}" does not exist`);
  }
  return new SpawnError(program, e);
}
