// syndicate-server: the bus. Runs config watchers on the given paths, or checks scripts.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { settle } from '../bus/index.ts';
import { checkPaths } from '../config-lang/check.ts';
import { daemonService } from '../services/daemon-service.ts';
import { describeShutdown, shutdownSystem } from '../services/shutdown.ts';
import { recoverLeftovers } from '../services/leftovers.ts';
import { startSystem, type System, type SystemOptions } from '../services/system.ts';
import { parseSize } from '../relay/limits.ts';
import { checkAllowNetwork, parseTcpFlag, type ListenerLimits, type TcpFlag } from '../services/relay-listener-service.ts';

/** What the command line asked for. */
export interface ServerOptions {
  configPaths: string[];
  check: string[] | null;
  banner: boolean;
  /** `--root DIR`: absolute paths of the configuration resolve under DIR; its bin folders come first on PATH. */
  rootDir: string | null;
  /** `--state DIR`: runtime state (logs, sockets, operator assertions). */
  stateDir: string | null;
  /** `-s PATH`: Unix relay listeners; `-p [HOST:]PORT`: TCP relay listeners (127.0.0.1 by default). */
  sockets: string[];
  ports: TcpFlag[];
  /** `--allow CIDR`: networks allowed on every `-p` listener (none given: no list). */
  allow: string[];
  /** `--max-…` options: relay and listener limits. */
  limits: Partial<ListenerLimits>;
}

const USAGE = `usage: syndicate-server [-c|--config PATH]... [--no-banner]
       syndicate-server --check PATH...
  -c, --config PATH   watch PATH (a .pr file or a folder of them) as configuration; repeatable
  --root DIR          resolve absolute paths of the configuration under DIR, and put DIR's
                      bin folders first on PATH (run the shipped tree without being PID 1)
  --state DIR         runtime state: service logs, the control socket (control.sock) and what
                      syndicate-ctl keeps; default ROOT/run/syndicate with --root, else
                      /run/syndicate as root, else a new temporary folder
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
  --no-banner         do not print the start-up banner`;

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
  const o: ServerOptions = { configPaths: [], check: null, banner: true, rootDir: null, stateDir: null, sockets: [], ports: [], allow: [], limits: {} };
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
  const system = startSystem({
    services: (config, log) => [daemonService(config, log, daemons)],
    sockets: o.sockets,
    ports: o.ports,
    allow: o.allow,
    relayLimits: o.limits,
    controlDir: state !== null ? path.join(state, 'ctl') : undefined,
    controlSocket: state !== null ? path.join(state, 'control.sock') : undefined,
    reportStates: o.banner ? (l) => void process.stderr.write(l + '\n') : undefined,
    ...extra, configPaths, rootDir: o.rootDir ?? undefined,
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
    const report = await checkPaths(o.check);
    for (const line of report.errors) process.stderr.write(line + '\n');
    process.stderr.write(`checked ${report.files} file(s): ${report.errors.length} error(s)\n`);
    return report.errors.length > 0 ? 1 : 0;
  }
  // A state folder of our own making is removed again at exit; a given one is kept.
  const ownState = o.stateDir === null && o.rootDir === null;
  o.stateDir ??= o.rootDir !== null ? path.join(o.rootDir, 'run/syndicate') : mkdtempSync(path.join(tmpdir(), 'syndicate-'));
  if (o.banner) {
    process.stderr.write(`syndicate-bus: config ${o.configPaths.join(', ') || '(none)'}${o.rootDir ? ' under ' + o.rootDir : ''}\n`);
    process.stderr.write(`syndicate-bus: state in ${o.stateDir}; syndicate-ctl --socket ${path.join(o.stateDir, 'control.sock')} status\n`);
  }
  installLastLineHandlers();
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
    const stateDir = o.stateDir!;
    const shutdown = () => void stop()
      .then(() => (ownState ? rm(stateDir, { recursive: true, force: true }) : undefined))
      .then(() => resolve(0));
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  });
}
