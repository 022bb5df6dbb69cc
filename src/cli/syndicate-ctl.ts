// syndicate-ctl: inspect and steer a running bus over its control socket.
import path from 'node:path';
import { parse, peel, record, type Value } from '../preserves/index.ts';
import { P, type Assertion, type Pattern } from '../bus/index.ts';
import { compileScriptPattern } from '../config-lang/script-pattern.ts';
import { Service } from '../services/service-protocol.ts';
import { persist, unpersist } from '../services/control-store.ts';
import { readLastLines } from '../services/log-file.ts';
import { connectBus, DEFAULT_SOCKET } from './ctl/connect.ts';
import { NoBusError, snapshot, waitUntil, type BusConnection } from './ctl/connection.ts';
import { graphDot, graphText } from './ctl/graph.ts';
import { buildServiceModel, show, type ServiceView } from './ctl/service-model.ts';
import { statusJson, statusTable } from './ctl/status-table.ts';
import { explain } from './ctl/why.ts';
import { settingsCommand } from './ctl/settings.ts';
import { netCommand } from './ctl/net.ts';
import { peersCommand } from './ctl/peers.ts';

const USAGE = `usage: syndicate-ctl [--socket PATH | --root DIR] COMMAND
  status [--json]                  one line per service: state, time in state, pid, restarts, last exit
  why SERVICE                      what SERVICE waits for: unmet depends-on, cycles, restarts, last exit
  graph [--dot]                    the dependency graph, as text or Graphviz
  watch PATTERN                    live assertions matching PATTERN (script syntax: ?x binds, _ ignores)
  assert VALUE | retract VALUE     keep / withdraw VALUE in the config dataspace (survives syndicate-ctl)
  send VALUE                       send VALUE as a message to the config dataspace
  start|stop|restart SERVICE [--wait] [--timeout SECONDS]
  logs SERVICE [-f] [-n N]         a daemon's log lines
  settings list|set VALUE|unset VALUE [--json] [--timeout SECONDS]
                                   user settings (user-settings-daemon); set/unset return once on disk
  net [--json]                     interfaces (state, carrier, addresses) and routes in the machine dataspace
  peers [GROUP] [--json] [--recheck]  VPN peer selection: groups, patterns, local addresses, selected
SERVICE is a Preserves value such as '<daemon sshd>'; a bare name such as sshd means <daemon sshd>.
The socket is --socket PATH, else $SYNDICATE_SOCKET, else DIR/run/syndicate/control.sock with
--root DIR, else ${DEFAULT_SOCKET}.`;

/** A mistake on the command line or in its values: one line, exit code 2. */
export class CtlUsageError extends Error {}

const SERVICE_LABELS = ['service-error', 'require-service', 'run-service', 'service-hold', 'service-state', 'service-state-since', 'daemon-status', 'depends-on'];
const servicePatterns = (): Pattern[] => SERVICE_LABELS.map((l) => P.rec(l));

function value(text: string | undefined, what: string): Assertion {
  if (text === undefined) throw new CtlUsageError(`${what} is missing`);
  try {
    return parse(text) as Assertion;
  } catch (e) {
    throw new CtlUsageError(`bad ${what} ${JSON.stringify(text)}: ${(e as Error).message}`);
  }
}

/** A service name; a bare symbol `x` names `<daemon x>`. */
export function serviceName(text: string | undefined): Assertion {
  const v = value(text, 'SERVICE');
  return typeof peel(v) === 'symbol' ? record('daemon', v as symbol) : v;
}

async function services(conn: BusConnection): Promise<Map<string, ServiceView>> {
  return buildServiceModel(await snapshot(conn, servicePatterns()));
}

/** Where the bus keeps a daemon's log files: `log/` beside its control socket (`--state`). */
async function defaultLogDir(socket: string, name: Assertion): Promise<string> {
  // Loaded on demand: the daemon service module pulls in process handling the other commands never need.
  const { serviceLogDirName } = await import('../services/daemon-service.ts');
  return path.join(path.dirname(socket), 'log', serviceLogDirName(name));
}

/** Runs one command; returns the exit code. Output goes through `out` (stdout lines). */
export async function runCommand(conn: BusConnection, args: string[], out: (line: string) => void, socket = DEFAULT_SOCKET): Promise<number> {
  const [cmd, ...rest] = args;
  const flag = (f: string) => rest.includes(f);
  const option = (f: string) => { const i = rest.indexOf(f); return i >= 0 ? rest[i + 1] : undefined; };
  const positional = rest.filter((a, i) => !a.startsWith('-') && !(i > 0 && ['-n', '--timeout'].includes(rest[i - 1])));
  const timeoutMs = Number(option('--timeout') ?? 30) * 1000;
  switch (cmd) {
    case 'status': {
      const m = await services(conn);
      if (flag('--json')) out(JSON.stringify(statusJson(m), null, 2));
      else for (const l of statusTable(m, process.stdout.isTTY === true)) out(l);
      return 0;
    }
    case 'why': {
      const name = show(serviceName(positional[0]));
      const m = await services(conn);
      for (const l of explain(m, name)) out(l);
      return m.has(name) ? 0 : 1;
    }
    case 'graph': {
      const m = await services(conn);
      if (flag('--dot')) out(graphDot(m));
      else for (const l of graphText(m)) out(l);
      return 0;
    }
    case 'watch': {
      const text = positional[0];
      if (text === undefined) throw new CtlUsageError('PATTERN is missing');
      let pattern: Pattern;
      try {
        pattern = compileScriptPattern(value(text, 'PATTERN') as Value<unknown>, new Map()).pattern;
      } catch (e) {
        throw new CtlUsageError(`bad PATTERN: ${(e as Error).message}`);
      }
      conn.turn((t, config) => t.observe(config, P.bind(pattern), {
        added: (_t, [v]) => out('+ ' + show(v)),
        removed: (_t, [v]) => out('- ' + show(v)),
      }));
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
      return 0;
    }
    case 'assert': case 'retract': case 'send': {
      const v = value(positional[0], 'VALUE');
      await sendAndSync(conn, cmd === 'send' ? v : cmd === 'assert' ? persist(v) : unpersist(v));
      return 0;
    }
    case 'start': case 'stop': case 'restart':
      return await lifecycle(conn, cmd, serviceName(positional[0]), flag('--wait'), timeoutMs, out);
    case 'logs': {
      const name = show(serviceName(positional[0]));
      const m = await services(conn);
      const dir = m.get(name)?.status?.logDir ?? await defaultLogDir(socket, serviceName(positional[0]));
      let lines: string[];
      try {
        lines = await readLastLines(dir, Number(option('-n') ?? 20));
      } catch {
        out(`${name}: no logs (not a daemon of this bus, or it never printed anything)`);
        return 1;
      }
      for (const l of lines) out(l);
      if (flag('-f')) await follow(dir, out);
      return 0;
    }
    case 'settings':
      return await settingsCommand(conn, positional, { json: flag('--json'), timeoutMs }, out, (text) => value(text, 'VALUE'));
    case 'net':
      return await netCommand(conn, rest, out);
    case 'peers':
      return await peersCommand(conn, positional[0], flag('--json'), flag('--recheck'), timeoutMs, out);
    default:
      throw new CtlUsageError(cmd === undefined ? 'a command is needed' : `unknown command ${cmd}`);
  }
}

function sendAndSync(conn: BusConnection, message: Assertion): Promise<void> {
  return new Promise((resolve) => conn.turn((t, config) => {
    t.message(config, message);
    t.sync(config, () => resolve());
  }));
}

async function lifecycle(conn: BusConnection, cmd: 'start' | 'stop' | 'restart', name: Assertion, wait: boolean, timeoutMs: number, out: (l: string) => void): Promise<number> {
  const text = show(name);
  const before = (await services(conn)).get(text);
  if (cmd === 'start') {
    await sendAndSync(conn, unpersist(Service.hold(name)));
    await sendAndSync(conn, persist(Service.require(name)));
  } else if (cmd === 'stop') {
    await sendAndSync(conn, unpersist(Service.require(name)));
    await sendAndSync(conn, persist(Service.hold(name)));
  } else {
    await sendAndSync(conn, Service.restart(name));
  }
  if (!wait) return 0;
  const view = (present: Assertion[]) => buildServiceModel(present).get(text);
  const oldSince = new Set(before === undefined ? [] : [...before.since.values()]);
  const reached = (present: Assertion[]): boolean => {
    const s = view(present);
    if (cmd === 'stop') return s === undefined || (!s.running && !s.states.some((x) => x === 'started' || x === 'ready'));
    if (s === undefined) return false;
    const fresh = (state: string) => s.states.includes(state) && (cmd === 'start' || !oldSince.has(s.since.get(state) ?? ''));
    return fresh('ready') || fresh('complete') || fresh('failed');
  };
  try {
    await waitUntil(conn, servicePatterns(), reached, timeoutMs);
  } catch (e) {
    out(`${text}: ${(e as Error).message} waiting for ${cmd} to finish`);
    return 1;
  }
  const s = (await services(conn)).get(text);
  if (cmd !== 'stop' && s?.states.includes('failed')) {
    out(`${text}: failed${s.status?.lastExit ? ' (' + s.status.lastExit + ')' : ''}`);
    return 1;
  }
  return 0;
}

async function follow(dir: string, out: (l: string) => void): Promise<void> {
  const { watch } = await import('node:fs');
  let shown = (await readLastLines(dir, 100000)).length;
  const w = watch(dir, () => void readLastLines(dir, 100000).then((all) => {
    for (const l of all.slice(shown)) out(l);
    shown = all.length;
  }));
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  w.close();
}

/** The socket from the command line and environment. */
export function socketPath(args: string[]): { socket: string; rest: string[] } {
  const rest = [...args];
  let socket = process.env.SYNDICATE_SOCKET ?? DEFAULT_SOCKET;
  for (let i = 0; i < rest.length; ) {
    if (rest[i] === '--socket' && rest[i + 1] !== undefined) { socket = rest[i + 1]; rest.splice(i, 2); }
    else if (rest[i] === '--root' && rest[i + 1] !== undefined) { socket = path.join(rest[i + 1], 'run/syndicate/control.sock'); rest.splice(i, 2); }
    else i++;
  }
  return { socket, rest };
}

/** Runs the program; resolves to the exit code. */
export async function run(argv: string[] = process.argv.slice(2)): Promise<number> {
  const { socket, rest } = socketPath(argv);
  // Output piped into `head` and the like: a closed pipe ends us quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  if (rest.length === 0 || rest[0] === '-h' || rest[0] === '--help') {
    process.stdout.write(USAGE + '\n');
    return rest.length === 0 ? 2 : 0;
  }
  let conn: BusConnection | null = null;
  try {
    conn = await connectBus(socket);
    return await runCommand(conn, rest, (l) => void process.stdout.write(l + '\n'), socket);
  } catch (e) {
    if (e instanceof CtlUsageError) {
      process.stderr.write(`syndicate-ctl: ${e.message}\n`);
      return 2;
    }
    if (e instanceof NoBusError) {
      process.stderr.write(`syndicate-ctl: ${e.message}\n`);
      return 3;
    }
    throw e;
  } finally {
    await conn?.close();
  }
}


