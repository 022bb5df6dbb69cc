// `npm start` on the host (not in a namespace) must leave the host's network alone: the real
// interface monitor runs (it only reads netlink), network.pr reacts to the host's interfaces,
// and the stand-ins for ip and udhcpc say what they would do instead of doing it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { P } from '../../src/bus/index.ts';
import { showAssertion } from '../../src/bus/index.ts';
import { connectBus } from '../../src/cli/ctl/connect.ts';
import type { BusConnection } from '../../src/cli/ctl/connection.ts';
import { TOP, requireNetworkTesting, until } from './net-harness.ts';
import { liveGroupMembers } from '../services/proc-helpers.ts';

let dir = '';
let conn: BusConnection | null = null;
let stopBus: (() => Promise<void>) | null = null;

before(() => {
  requireNetworkTesting();
  dir = mkdtempSync(path.join(tmpdir(), `syn-host-${process.pid}-`));
});

after(async () => {
  await conn?.close();
  await stopBus?.();
  rmSync(dir, { recursive: true, force: true });
});

/** The host's links, addresses and routes, without counters that move by themselves. */
function hostNetwork(): string {
  const run = (...args: string[]) => execFileSync('ip', args, { encoding: 'utf8' });
  return [run('-br', 'link'), run('-br', 'addr'), run('route'), run('-6', 'route')].join('\n')
    .replace(/ expires \d+sec/g, '');
}

/** The environment npm start gets, without the opt-in to the real network. */
function startEnv(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.SYNDICATE_REAL_NETWORK;
  return env;
}

test('npm start on the host leaves ip link/addr/route as they were; the stand-ins speak instead', async () => {
  // The safety net first: outside a named namespace the stand-ins must only talk.
  const env = startEnv();
  const standIn = execFileSync(path.join(TOP, 'dev/root/bin/ip'), ['link', 'set', 'lo', 'down'], { encoding: 'utf8', env });
  assert.equal(standIn.trim(), 'ip stand-in: would run ip link set lo down', 'the ip stand-in must not run the real ip here');

  const before = hostNetwork();
  const state = path.join(dir, 'state');
  // `npm start`, with a state folder of our own so a developer's running bus is not disturbed.
  const bus = spawn('npm', ['start', '--silent', '--', '--state', state], { cwd: TOP, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  bus.stdout!.setEncoding('utf8').on('data', (d: string) => void (output += d));
  bus.stderr!.setEncoding('utf8').on('data', (d: string) => void (output += d));
  const exited = new Promise<string>((r) => bus.once('exit', (code, signal) => r(signal ?? String(code))));
  stopBus = async () => {
    stopBus = null;
    if (bus.exitCode !== null || bus.signalCode !== null) return;
    // npm and the bus under it: SIGTERM to the group, SIGKILL if it lingers.
    try { process.kill(-bus.pid!, 'SIGTERM'); } catch { /* gone */ }
    const timer = setTimeout(() => { try { process.kill(-bus.pid!, 'SIGKILL'); } catch { /* gone */ } }, 20_000);
    await exited;
    // npm may exit before the bus under it has finished stopping (and writing its logs): the
    // run is over only when its whole process group is gone.
    while (liveGroupMembers(bus.pid!).length > 0) await new Promise((r) => setTimeout(r, 20));
    clearTimeout(timer);
  };

  const socket = path.join(state, 'control.sock');
  await until(() => existsSync(socket) || bus.exitCode !== null, () => 'the control socket: ' + output, 60_000);
  conn = await connectBus({ socket, stateDir: state }, 30_000);
  const config = new Set<string>();
  conn.turn((t, cfg) => t.observe(cfg, P.bind(P.rec('service-state')), { added: (_t, [v]) => void config.add(showAssertion(v!)) }));
  await until(() => config.has('<service-state <milestone network> ready>'), () => 'the network milestone: ' + output, 90_000);
  // network.pr reacted to the host's interfaces, through the stand-ins.
  await until(() => output.includes('ip stand-in: would run ip link set lo up'), () => 'the ip stand-in to speak: ' + output, 30_000);
  await until(() => output.includes('ip stand-in: would run ip address add dev lo 127.0.0.1/8'), () => 'the static lo address through the stand-in: ' + output, 30_000);

  await conn.close();
  conn = null;
  // Shutting down retracts every interface: `ip link set … down` goes through the stand-in too.
  await stopBus();
  assert.equal(hostNetwork(), before, 'the host network is unchanged');
  assert.ok(!output.includes('RTNETLINK answers'), 'no real ip command ran: ' + output);
});
