// syndicate-ctl: inspect and steer a running bus over its control socket.
import { watch } from 'node:fs';
import path from 'node:path';
import { P, type Assertion, type Ref } from '../bus/index.ts';
import { persist, unpersist, type StoreReply } from '../services/control-store.ts';
import { CtlUsageError, parseCtlArgs, type CtlArgs, type CtlCommand } from './ctl/arguments.ts';
import { connectBus } from './ctl/connect.ts';
import { CtlFailure, CtlTimeoutError, NoBusError, snapshot, type BusConnection } from './ctl/connection.ts';
import { buildServiceModel, show, type ServiceView } from './ctl/service-model.ts';
import { DAEMON_CONFIG, knownService, servicePatterns } from './ctl/known-service.ts';
import { lifecycle } from './ctl/lifecycle.ts';
import { askStore } from './ctl/store-request.ts';
import { cycleLines, statusJson, statusTable } from './ctl/status-table.ts';
import { explain } from './ctl/why.ts';
import { locateState } from './state-dir.ts';

export { CtlUsageError, serviceName } from './ctl/arguments.ts';

const USAGE = `usage: syndicate-ctl [--state DIR | --root DIR | --socket PATH] [--timeout SECONDS] COMMAND
  status [SERVICE] [--json]        one line per service: state, time in state, pid, restarts, last exit
  why SERVICE                      what SERVICE waits for: unmet depends-on, cycles, restarts, next attempt
  graph [--dot]                    the dependency graph, as text or Graphviz
  watch PATTERN                    live assertions matching PATTERN (script syntax: ?x binds, _ ignores)
  assert VALUE | retract VALUE     keep / withdraw VALUE in the config dataspace (kept in STATE/ctl)
  send VALUE                       send VALUE as a message to the config dataspace
  start|stop|restart SERVICE [--wait]
  logs SERVICE [-f] [-n N]         a daemon's log lines
  settings list|set VALUE|unset VALUE [--json]
                                   user settings (user-settings-daemon); set/unset return once on disk
  net [--json]                     interfaces (state, carrier, addresses) and routes in the machine dataspace
  peers [GROUP] [--json] [--recheck]
                                   VPN peer selection: each group's patterns, local addresses, selected peer
SERVICE is a Preserves value such as '<daemon sshd>'; a bare name such as sshd means <daemon sshd>.
The bus is found as syndicate-server keeps it: --state DIR, else --root DIR (DIR/run/syndicate),
else $SYNDICATE_SOCKET, else /run/syndicate as root, $XDG_RUNTIME_DIR/syndicate otherwise
(TMPDIR/syndicate-UID without XDG_RUNTIME_DIR); --socket PATH names any socket, such as a -s
listener, through which the control ref in the state folder is resolved. --timeout bounds
connecting and --wait (default 30 s).
Exit codes: 0 done, 1 failed or not found, 2 usage, 3 no bus reached, 4 timed out.`;

export { CtlFailure } from './ctl/connection.ts';

async function services(conn: BusConnection): Promise<Map<string, ServiceView>> {
  return buildServiceModel(await snapshot(conn, servicePatterns()));
}

/** The service model with `name` in it; throws `CtlFailure` unless the bus knows `name` (see `knownService`). */
async function mustKnow(conn: BusConnection, name: Assertion): Promise<Map<string, ServiceView>> {
  return knownService(await snapshot(conn, [...servicePatterns(), DAEMON_CONFIG]), name);
}

/** Asserts `build(reply)` until the control store answers (the request is durable once it does). */
function request(conn: BusConnection, build: (reply: Ref) => Assertion, timeoutMs: number): Promise<StoreReply> {
  return new Promise((resolve, reject) => conn.turn((t, config) => {
    // One facet for the request and its timer: whichever ends first stops both.
    t.facet((t) => {
      t.preventInertCheck();
      const facet = t.activeFacet;
      askStore(t, config, build, (t, r) => {
        resolve(r);
        t.stop(facet);
      });
      t.after(timeoutMs, (t) => {
        reject(new CtlTimeoutError(`timed out after ${timeoutMs / 1000} s waiting for the bus to keep the request`));
        t.stop(facet);
      });
    });
  }));
}

/** A kept request that must succeed. */
async function keep(conn: BusConnection, build: (reply: Ref) => Assertion, timeoutMs: number): Promise<boolean> {
  const r = await request(conn, build, timeoutMs);
  if (!r.ok) throw new CtlFailure(r.error);
  return r.changed;
}

function sendAndSync(conn: BusConnection, message: Assertion): Promise<void> {
  return new Promise((resolve) => conn.turn((t, config) => {
    t.message(config, message);
    t.sync(config, () => resolve());
  }));
}

/** Where the bus keeps a daemon's log files: `log/` in its state folder. */
async function logDir(conn: BusConnection, stateDir: string, name: Assertion): Promise<string> {
  // Loaded on demand: the daemon service module pulls in process handling the other commands never need.
  const { serviceLogDirName } = await import('../services/supervision/daemon-service.ts');
  return path.join(conn.info.state ?? stateDir, 'log', serviceLogDirName(name));
}

// Commands other than status, start and stop load their modules when run (`await import`): each
// becomes a chunk of its own in the bundle (dev/build.js), so `status` loads only what it needs.

/** Runs one command on a connected bus; returns the exit code. Output lines go to `out`. */
export async function runCommand(conn: BusConnection, args: CtlArgs, out: (line: string) => void, stateDir: string): Promise<number> {
  const c: CtlCommand = args.command;
  switch (c.kind) {
    case 'help': out(USAGE); return 0;
    case 'status': {
      let m = await services(conn);
      if (c.service !== null) {
        const text = show(c.service);
        m = new Map([[text, (await mustKnow(conn, c.service)).get(text)!]]);
        if (c.json) out(JSON.stringify(statusJson(m), null, 2));
        else for (const l of statusTable(m, process.stdout.isTTY === true)) out(l);
        return 0;
      }
      if (c.json) out(JSON.stringify(statusJson(m), null, 2));
      else for (const l of [...statusTable(m, process.stdout.isTTY === true), ...cycleLines(m)]) out(l);
      return 0;
    }
    case 'why': {
      const name = show(c.service);
      for (const l of explain(await mustKnow(conn, c.service), name)) out(l);
      return 0;
    }
    case 'graph': {
      const { graphDot, graphText } = await import('./ctl/graph.ts');
      const m = await services(conn);
      if (c.dot) out(graphDot(m));
      else for (const l of graphText(m)) out(l);
      return 0;
    }
    case 'watch': {
      conn.turn((t, config) => t.observe(config, P.bind(c.pattern), {
        added: (_t, [v]) => out('+ ' + show(v)),
        removed: (_t, [v]) => out('- ' + show(v)),
      }));
      await new Promise<void>((resolve) => process.once('SIGINT', resolve));
      return 0;
    }
    case 'assert': await keep(conn, (r) => persist(c.value, r), args.timeoutMs); return 0;
    case 'retract': {
      if (!(await keep(conn, (r) => unpersist(c.value, r), args.timeoutMs))) {
        throw new CtlFailure(`${show(c.value)} was not kept by syndicate-ctl assert; nothing retracted`);
      }
      return 0;
    }
    case 'send': await sendAndSync(conn, c.value); return 0;
    case 'start': case 'stop': case 'restart':
      return await lifecycle(conn, c.kind, c.service, c.wait, args.timeoutMs);
    case 'logs': {
      const { readLastLines } = await import('../services/daemon/log-file.ts');
      const name = show(c.service);
      const m = await mustKnow(conn, c.service);
      const dir = m.get(name)?.status?.logDir ?? await logDir(conn, stateDir, c.service);
      let lines: string[];
      try {
        lines = await readLastLines(dir, c.lines);
      } catch {
        process.stderr.write(`syndicate-ctl: ${name}: no log lines yet (${dir})\n`);
        lines = [];
        if (!c.follow) return 0;
      }
      for (const l of lines) out(l);
      if (c.follow) await follow(dir, out);
      return 0;
    }
    case 'settings': return await (await import('./ctl/settings.ts')).settingsCommand(conn, c.action, c.value, { json: c.json, timeoutMs: args.timeoutMs }, out);
    case 'net': return await (await import('./ctl/net.ts')).netCommand(conn, c.json, out);
    case 'peers': return await (await import('./ctl/peers.ts')).peersCommand(conn, c.group ?? undefined, c.json, c.recheck, args.timeoutMs, out);
  }
}

async function follow(dir: string, out: (l: string) => void): Promise<void> {
  const { readLastLines } = await import('../services/daemon/log-file.ts');
  let shown = (await readLastLines(dir, 100000).catch(() => [])).length;
  const w = watch(path.dirname(dir), { recursive: true }, () => void readLastLines(dir, 100000).then((all) => {
    for (const l of all.slice(shown)) out(l);
    shown = all.length;
  }, () => undefined));
  await new Promise<void>((resolve) => process.once('SIGINT', resolve));
  w.close();
}

/** The socket and state folder the command line and environment name. */
export function ctlAddress(args: Pick<CtlArgs, 'socket' | 'state' | 'root'>, env: NodeJS.ProcessEnv = process.env): { socket: string; stateDir: string } {
  const loc = locateState({ state: args.state, root: args.root }, env);
  return { socket: args.socket !== null ? path.resolve(args.socket) : loc.socket, stateDir: loc.dir };
}

/** Runs the program; resolves to the exit code. */
export async function run(argv: string[] = process.argv.slice(2)): Promise<number> {
  // Output piped into `head` and the like: a closed pipe ends us quietly.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const fail = (code: number, message: string) => {
    process.stderr.write(`syndicate-ctl: ${message}\n`);
    return code;
  };
  if (argv.length === 0) {
    process.stderr.write(USAGE + '\n');
    return 2;
  }
  let args: CtlArgs;
  try {
    args = parseCtlArgs(argv);
  } catch (e) {
    if (e instanceof CtlUsageError) return fail(2, e.message);
    throw e;
  }
  if (args.command.kind === 'help') {
    process.stdout.write(USAGE + '\n');
    return 0;
  }
  const address = ctlAddress(args);
  let conn: BusConnection | null = null;
  try {
    conn = await connectBus(address, args.timeoutMs);
    return await runCommand(conn, args, (l) => void process.stdout.write(l + '\n'), address.stateDir);
  } catch (e) {
    if (e instanceof CtlUsageError) return fail(2, e.message);
    if (e instanceof CtlFailure) return fail(1, e.message);
    if (e instanceof NoBusError) return fail(3, e.message);
    if (e instanceof CtlTimeoutError) return fail(4, e.message);
    throw e;
  } finally {
    await conn?.close();
  }
}
