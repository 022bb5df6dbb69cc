// syndicate-server: the bus. Runs config watchers on the given paths, or checks scripts.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import { setLogHook, stderrLogHook, settle, type LogLevel } from '../bus/index.ts';
import { checkPaths } from '../config-lang/check.ts';
import { daemonService } from '../services/supervision/daemon-service.ts';
import { describeShutdown, shutdownSystem } from '../services/shutdown.ts';
import { recoverLeftovers } from '../services/daemon/leftovers.ts';
import { startSystem, type System, type SystemOptions } from '../services/system.ts';
import { parseSize } from '../relay/limits.ts';
import { checkAllowNetwork, parseTcpFlag, type ListenerLimits, type TcpFlag } from '../services/listeners/relay-listener-service.ts';
import { BusLockedError, lockStateDir } from './bus-lock.ts';
import { publishControlRef } from './control-ref.ts';
import { checkServiceRecords } from './record-checks.ts';
import { StateDirError, locateState, preparePrivateState } from './state-dir.ts';

/** What the command line asked for. */
export interface ServerOptions {
  configPaths: string[];
  check: string[] | null;
  banner: boolean;
  /** `--log-level` (`--quiet` = warn): what the console shows; state lines and daemon output are info. */
  logLevel: LogLevel;
  /** `--root DIR`: absolute paths of the configuration resolve under DIR; its bin folders come first on PATH. */
  rootDir: string | null;
  /** `--state DIR`: runtime state (logs, sockets, operator assertions). */
  stateDir: string | null;
  /** The control socket (default STATE/control.sock; `$SYNDICATE_SOCKET` when it chose the state folder). */
  controlSocket?: string;
    /** `-s PATH`: Unix relay listeners; `-p [HOST:]PORT`: TCP relay listeners (127.0.0.1 by default). */
  sockets: string[];
  ports: TcpFlag[];
  /** `--allow CIDR`: networks allowed on every `-p` listener (none given: no list). */
  allow: string[];
  /** `--max-…` options: relay and listener limits. */
  limits: Partial<ListenerLimits>;
}

const USAGE = `usage: syndicate-server [-c|--config PATH]... [--no-banner] [--quiet | --log-level LEVEL]
       syndicate-server --check PATH...
  -c, --config PATH   watch PATH (a .pr file or a folder of them) as configuration; repeatable
  --root DIR          resolve absolute paths of the configuration under DIR, and put DIR's
                      bin folders first on PATH (run the shipped tree without being PID 1)
  --state DIR         runtime state (0700): service logs, the control socket (control.sock),
                      the control ref and what syndicate-ctl keeps; one bus per folder. Default
                      ROOT/run/syndicate with --root, else the folder of $SYNDICATE_SOCKET, else
                      /run/syndicate as root, $XDG_RUNTIME_DIR/syndicate otherwise, and
                      TMPDIR/syndicate-UID without XDG_RUNTIME_DIR
  -s, --socket PATH   a relay listener on a Unix socket, exporting the gatekeeper; repeatable
  -p, --port [HOST:]PORT
                      a relay listener on TCP, exporting the gatekeeper; repeatable. PORT alone
                      listens on 127.0.0.1; HOST:PORT or [IPV6]:PORT elsewhere (0.0.0.0: all)
  --allow CIDR        only peers in CIDR (10.0.0.0/8, ::1/128, an address; commas allowed) may
                      connect to the -p listeners; repeatable; others are closed and logged
                      once a minute per address
  limits of relay connections (sizes take K, M, G suffixes):
  --max-connections N          per listener (default half the total, at most 256)
  --max-connections-total N    over all listeners (default 512, at most a quarter of the fd limit)
  --max-packet-size SIZE       one packet, so a connection's unfinished input (default 16M)
  --max-input-total SIZE       unfinished input of all connections (default 64M)
  --max-pending-output SIZE    output a connection has not read yet (default 16M)
  --max-pending-output-total SIZE  output not read yet over all connections (default 64M)
  --max-assertions N           assertions held by one connection (default 10000)
  --check PATH...     parse and validate scripts without running them; exit 1 on any error
  --no-banner         do not print the start-up banner (the two lines naming config and state)
  --log-level LEVEL   error, warn, info (default: state changes and daemon output too) or debug
  --quiet             the same as --log-level warn`;

const LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];

/** The option behind each `--max-…` flag. */
const LIMIT_FLAGS: { readonly [flag: string]: keyof ListenerLimits } = {
  '--max-connections': 'maxConnections',
  '--max-connections-total': 'maxConnectionsTotal',
  '--max-assertions': 'maxAssertions',
  '--max-packet-size': 'maxPacketSize',
  '--max-input-total': 'maxInputTotal',
  '--max-pending-output': 'maxPendingOutput',
  '--max-pending-output-total': 'maxPendingOutputTotal',
};

/** A command-line mistake, printed with the usage text. */
export class UsageError extends Error {}

/** Parses the command line. */
export function parseServerArgs(argv: readonly string[]): ServerOptions {
  const o: ServerOptions = { configPaths: [], check: null, banner: true, logLevel: 'info', rootDir: null, stateDir: null, sockets: [], ports: [], allow: [], limits: {} };
  const limits: { -readonly [K in keyof ListenerLimits]?: number } = {};
  o.limits = limits;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const [flag, inline] = a.startsWith('--') ? a.split(/=(.*)/s, 2) : [a, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new UsageError(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '-c': case '--config': o.configPaths.push(value()); break;
      case '--no-banner': o.banner = false; break;
      case '--quiet': o.logLevel = 'warn'; break;
      case '--log-level': {
        const v = value();
        if (!LEVELS.includes(v as LogLevel)) throw new UsageError(`bad --log-level ${v}: one of ${LEVELS.join(', ')}`);
        o.logLevel = v as LogLevel;
        break;
      }
      case '--root': o.rootDir = path.resolve(value()); break;
      case '--state': o.stateDir = path.resolve(value()); break;
      case '-s': case '--socket': o.sockets.push(path.resolve(value())); break;
      case '-p': case '--port': {
        try {
          o.ports.push(parseTcpFlag(value()));
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        break;
      }
      case '--allow':
        for (const n of value().split(',').map((x) => x.trim()).filter((x) => x !== '')) {
          try {
            checkAllowNetwork(n);
          } catch (e) {
            throw new UsageError('--allow ' + (e as Error).message.replace(/^allow: /, ''));
          }
          o.allow.push(n);
        }
        break;
      case '--max-connections': case '--max-connections-total': case '--max-assertions': {
        const v = value();
        const n = /^\d+$/.test(v) ? Number(v) : NaN;
        if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`${flag} needs a whole number ≥ 1, not "${v}"`);
        limits[LIMIT_FLAGS[flag]] = n;
        break;
      }
      case '--max-packet-size': case '--max-input-total': case '--max-pending-output': case '--max-pending-output-total': {
        const v = value();
        const n = parseSize(v);
        if (n === null || n < 1) throw new UsageError(`${flag} needs a size such as 16M, not "${v}"`);
        limits[LIMIT_FLAGS[flag]] = n;
        break;
      }
      case '--check': o.check = argv.slice(i + 1); i = argv.length; break;
      case '-h': case '--help': throw new UsageError('');
      default: throw new UsageError(`unknown argument ${a}`);
    }
  }
  if (o.check !== null && o.check.length === 0) throw new UsageError('--check needs at least one path');
  return o;
}

/** Starts the server; returns the system and a function that stops it cleanly. */
export function startServer(o: ServerOptions, extra: Partial<SystemOptions> = {}): { system: System; stop: () => Promise<void> } {
  if (o.rootDir !== null) {
    const bins = ['usr/local/sbin', 'usr/local/bin', 'usr/sbin', 'usr/bin', 'sbin', 'bin'].map((b) => path.join(o.rootDir!, b));
    process.env.PATH = [...bins, process.env.PATH ?? ''].join(path.delimiter);
    // Daemons handed absolute paths (user-settings-daemon's settingsDir) resolve them under the root too.
    process.env.SYNDICATE_ROOT = o.rootDir;
  }
  // With --root, absolute -c paths name places in the root; relative ones are the caller's.
  const configPaths = o.configPaths.map((p) => (o.rootDir !== null && path.isAbsolute(p) ? p : path.resolve(p)));
  const state = o.stateDir;
  if (state !== null) mkdirSync(path.join(state, 'ctl'), { recursive: true, mode: 0o700 });
  const daemons = { ...(state !== null ? { logDir: path.join(state, 'log'), runtimeDir: state, stateDir: state } : {}), rootDir: o.rootDir ?? undefined };
  const shows = (level: LogLevel) => LEVELS.indexOf(level) <= LEVELS.indexOf(o.logLevel);
  // Log lines carry `level=` only for the daemon service's own remarks; output lines are info.
  const lineLevel = (line: string): LogLevel => (/ level=(error|warn|info|debug)(?: |$)/.exec(line)?.[1] as LogLevel | undefined) ?? 'info';
  setLogHook((e) => {
    if (!shows(e.level)) return;
    if (e.level === 'info' || e.level === 'debug') {
      const who = e.actor === undefined ? '' : ' [' + e.actor + ']';
      process.stderr.write(`${e.level}${who} ${e.message}\n`);
    } else {
      stderrLogHook(e);
    }
  });
  const system = startSystem({
    services: (config, log) => [daemonService(config, log, daemons)],
    sockets: o.sockets,
    ports: o.ports,
    allow: o.allow,
    relayLimits: o.limits,
    controlDir: state !== null ? path.join(state, 'ctl') : undefined,
    controlSocket: o.controlSocket ?? (state !== null ? path.join(state, 'control.sock') : undefined),
    reportStates: shows('info') ? (l) => void process.stderr.write(l + '\n') : undefined,
    writeLog: (l) => { if (shows(lineLevel(l))) process.stderr.write(l + '\n'); },
    ...extra, configPaths, rootDir: o.rootDir ?? undefined,
    onBoot: (t, sys) => {
      if (state !== null) {
        void publishControlRef(t, sys.config, state).catch((e: Error) => {
          process.stderr.write(`syndicate-server: cannot write the control ref in ${state}: ${e.message}\n`);
        });
      }
      extra.onBoot?.(t, sys);
    },
  });
  const stop = async (): Promise<void> => {
    const summary = await shutdownSystem(system); // dependents first, each with its stop grace; no process survives
    await settle();
    process.stderr.write(describeShutdown(summary) + '\n');
  };
  return { system, stop };
}

/** The start of the line the last-line handlers log (tests look for it). */
export const LAST_LINE_PREFIX = 'syndicate-server: last-line handler caught';

/**
 * The console may go away (a closed terminal, the reader of a pipe gone): the bus goes on
 * without it. Write errors on stdout/stderr (EPIPE) are dropped instead of being raised as
 * unhandled 'error' events.
 */
function ignoreConsoleErrors(): void {
  process.stdout.on('error', () => {});
  process.stderr.on('error', () => {});
}

/** Writes `text` to stderr if it is still there. */
function writeConsole(text: string): void {
  try {
    process.stderr.write(text);
  } catch {
    // the console is gone
  }
}

/**
 * The last line of defence: the bus runs next to PID 1 and must not die of an error nobody
 * caught. Every known fault is caught where it happens (costing one connection, file or actor);
 * anything reaching here is a bug, logged as one line, and the bus goes on.
 */
export function installLastLineHandlers(): void {
  const line = (what: string, e: unknown): void => {
    const text = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    const at = e instanceof Error ? (e.stack ?? '').split('\n').find((l) => l.trimStart().startsWith('at '))?.trim() : undefined;
    try {
      process.stderr.write(`${LAST_LINE_PREFIX} ${what}: ${text.replace(/\s+/g, ' ')}${at ? ' (' + at + ')' : ''}\n`);
    } catch {
      // stderr gone: nothing left to tell
    }
  };
  process.on('uncaughtException', (e) => line('an uncaught exception', e));
  process.on('unhandledRejection', (e) => line('an unhandled rejection', e));
}

/** Runs the program with `process.argv`; resolves to the exit code. */
export async function run(argv: readonly string[] = process.argv.slice(2)): Promise<number> {
  let o: ServerOptions;
  try {
    o = parseServerArgs(argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    process.stderr.write((e.message ? `syndicate-server: ${e.message}\n` : '') + USAGE + '\n');
    return e.message ? 2 : 0;
  }
  if (o.check !== null) {
    const report = await checkPaths(o.check, checkServiceRecords);
    for (const f of report.skipped) process.stderr.write(`${f}: skipped, not a .pr script\n`);
    for (const line of report.errors) process.stderr.write(line + '\n');
    const skipped = report.skipped.length > 0 ? `, ${report.skipped.length} skipped` : '';
    process.stderr.write(`checked ${report.files} file(s)${skipped}: ${report.errors.length} error(s)${report.files === 0 ? '; no script to check' : ''}\n`);
    // Nothing checked is no proof of anything: a path of non-scripts fails too.
    return report.errors.length > 0 || report.files === 0 ? 1 : 0;
  }
  // Resident memory (issue 15): V8 doubles the young generation on every allocation burst
  // (starting 100 daemons took it from 8 to 32 MB, never given back); a long-running bus is
  // better off with more scavenges of a fixed one (measured: 80 → 71 MB RSS with 100 daemons).
  // V8 reads this flag each time it would grow the space, so setting it now takes effect.
  v8.setFlagsFromString('--semi-space-growth-factor=1');
  // One rule for where state lives, shared with syndicate-ctl (state-dir.ts).
  const where = locateState({ state: o.stateDir, root: o.rootDir });
  o.stateDir = where.dir;
  if (where.from === '$SYNDICATE_SOCKET') o.controlSocket = where.socket;
  const stateDir = where.dir;
  let lock;
  try {
    // The lock first: a refused bus touches nothing of the running one's.
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    lock = await lockStateDir(stateDir);
    const narrowed = await preparePrivateState(stateDir);
    if (narrowed > 0) process.stderr.write(`syndicate-server: narrowed the permissions of ${narrowed} entr${narrowed === 1 ? 'y' : 'ies'} in ${stateDir} to 0700/0600\n`);
  } catch (e) {
    if (!(e instanceof BusLockedError) && !(e instanceof StateDirError) && !(e as NodeJS.ErrnoException).code) throw e;
    process.stderr.write(`syndicate-server: ${(e as Error).message}\n`);
    return 1;
  }
  if (o.banner) {
    process.stderr.write(`syndicate-bus: config ${o.configPaths.join(', ') || '(none)'}${o.rootDir ? ' under ' + o.rootDir : ''}\n`);
    process.stderr.write(`syndicate-bus: state in ${stateDir} (pid ${process.pid}); syndicate-ctl${where.from === 'default' ? '' : ' --state ' + stateDir} status\n`);
  }
  installLastLineHandlers();
  ignoreConsoleErrors();
  // What a killed bus on this state folder left running is stopped before anything starts.
  const left = await recoverLeftovers(o.stateDir);
  if (left.liveBus !== null) {
    process.stderr.write(`syndicate-server: a bus (pid ${left.liveBus}) already runs on ${o.stateDir}; not starting\n`);
    return 1;
  }
  if (left.daemons.length > 0) {
    process.stderr.write(`syndicate-bus: stopped ${left.processes} process(es) left by a previous bus: ${left.daemons.join(', ')}\n`);
  }
  const { stop } = startServer(o);
  return await new Promise<number>((resolve) => {
    // A failed shutdown still ends the bus (exit 1), with the reason: a bus that was asked to
    // stop must never hang half-stopped.
    const shutdown = () => void stop()
      .then(() => 0, (e: unknown) => {
        writeConsole(`syndicate-server: shutdown failed: ${e instanceof Error ? e.message : String(e)}\n`);
        return 1;
      })
      .then(async (code) => {
        await lock.release();
        resolve(code);
      });
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}
