// The network: kernel change → assertion. In a network namespace of its own, the shipped tree
// runs (`syndicate-server --root dev/root`); the bench adds and deletes a default route through
// netlink itself (not by spawning ip) and times until the monitor's `<route ipv4 default …>`
// is visible in the machine dataspace and `<default-route ipv4>` in the config dataspace (both
// as a syndicate-ctl client sees them, over the control socket). Baseline: the same change seen
// by a netlink event socket of the bench's own (the kernel's part). Plus the monitor's resident
// memory, against an idle node process. `npm run bench:net` builds dist/ first, so the bus and
// the monitor run compiled, as installed.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FlagsNew, createRtNetlink, type NetlinkMessage } from 'netlink';
import { P, showAssertion, type Ref } from '../src/bus/index.ts';
import { Embedded, peel, Record } from '../src/preserves/index.ts';
import { connectBus } from '../src/cli/ctl/connect.ts';
import { figure, report } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const ROUNDS = 200;
const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const now = () => performance.now();
const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const median = (xs: number[]) => sorted(xs)[xs.length >> 1]!;
const p99 = (xs: number[]) => sorted(xs)[Math.min(xs.length - 1, Math.floor(xs.length * 0.99))]!;

/** Outside: make the namespace, run this file inside it, remove the namespace whatever happens. */
function outside(): number {
  const ns = `syn-bench-${process.pid}`;
  execFileSync('ip', ['netns', 'add', ns]);
  try {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', fileURLToPath(import.meta.url)],
      { stdio: 'inherit', env: { ...process.env, NET_BENCH_NAMESPACE: ns } });
    return r.status ?? 1;
  } finally {
    try {
      for (const pid of execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean)) {
        try { process.kill(Number(pid), 'SIGKILL'); } catch { /* gone */ }
      }
    } catch { /* no pids */ }
    execFileSync('ip', ['netns', 'del', ns]);
  }
}

function rssKiB(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (m === null) throw new Error(`no VmRSS for ${pid}`);
  return Number(m[1]);
}

async function waitFor(pred: () => boolean, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Inside the namespace: the bus, the netlink sockets, the rounds. */
async function inside(): Promise<void> {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  const dir = mkdtempSync(path.join(tmpdir(), 'syn-bench-net-'));
  const state = path.join(dir, 'state');
  const server = spawn(process.execPath, [path.join(top, 'bin/syndicate-server.js'), '--root', path.join(top, 'dev/root'),
    '--state', state, '--no-banner', '-c', '/etc/syndicate/boot'], { stdio: 'ignore' });
  const events = createRtNetlink({ recvBufferSize: 4 << 20, sendBufferSize: 1 << 16, ref: false });
  const requests = createRtNetlink({ recvBufferSize: 1 << 20, sendBufferSize: 1 << 16, ref: false });
  requests.socket.on('message', () => {}); // the stray ACK after each request
  try {
    await waitFor(() => existsSync(path.join(state, 'control.sock')), 'the control socket');
    const conn = await connectBus({ socket: path.join(state, 'control.sock'), stateDir: state }, 30_000);
    let machineDefault = 0;
    let configDefault = 0;
    let monitorPid = 0;
    let networkUp = false;
    let seenMachine = 0;
    let seenConfig = 0;
    conn.turn((t, config) => {
      t.observe(config, P.rec('default-route', P.bind()), {
        added: () => { configDefault++; seenConfig = now(); },
        removed: () => { configDefault--; seenConfig = now(); },
      });
      t.observe(config, P.bind(P.rec('service-state', P.lit(new Record(Symbol.for('milestone'), [Symbol.for('network')])), P.lit(Symbol.for('ready')))), {
        added: () => void (networkUp = true),
      });
      t.observe(config, P.rec('daemon-status', P.lit(new Record(Symbol.for('daemon'), [Symbol.for('interface-monitor')])), P.bind()), {
        added: (_t, [s]) => {
          const m = /pid: (\d+)/.exec(showAssertion(s!));
          if (m !== null) monitorPid = Number(m[1]);
        },
      });
      t.observe(config, P.rec('machine-dataspace', P.bind()), {
        added: (t, [m]) => {
          const ds = (peel(m!) as Embedded<Ref>).value;
          t.observe(ds, P.rec('route', P.lit(Symbol.for('ipv4')), P.lit(Symbol.for('default'))), {
            added: () => { machineDefault++; seenMachine = now(); },
            removed: () => { machineDefault--; seenMachine = now(); },
          });
        },
      });
    });
    await waitFor(() => networkUp && monitorPid !== 0, '<milestone network> and the monitor');

    let kernelSeen = 0;
    events.addMembership('IPV4_ROUTE');
    events.socket.on('message', (msgs: NetlinkMessage[]) => {
      if (msgs.some((m) => m.type === 24 || m.type === 25)) kernelSeen = now();
    });
    const route = { family: 2, dstLen: 0, table: 254, protocol: 'BOOT' as const, scope: 'UNIVERSE' as const, type: 'UNICAST' as const };
    const kernel: number[] = [];
    const machine: number[] = [];
    const config: number[] = [];
    const removal: number[] = [];
    for (let i = 0; i < ROUNDS + 10; i++) {
      kernelSeen = seenMachine = seenConfig = 0;
      const t0 = now();
      await requests.newRoute(route, { oif: 1, table: 254, priority: 7 }, { flags: FlagsNew.CREATE | FlagsNew.EXCL });
      await waitFor(() => kernelSeen > 0 && machineDefault === 1 && configDefault === 1, 'the default route to show');
      if (i >= 10) { // warm-up rounds are not counted
        kernel.push(kernelSeen - t0);
        machine.push(seenMachine - t0);
        config.push(seenConfig - t0);
      }
      seenConfig = 0;
      const t1 = now();
      await requests.delRoute(route, { oif: 1, table: 254, priority: 7 });
      await waitFor(() => machineDefault === 0 && configDefault === 0, 'the default route to go');
      if (i >= 10) removal.push(seenConfig - t1);
    }
    const monitorRss = rssKiB(monitorPid);
    const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1e9)'], { stdio: 'ignore' });
    await new Promise((r) => setTimeout(r, 500));
    const idleRss = rssKiB(idle.pid!);
    idle.kill('SIGKILL');
    await conn.close();
    report([
      figure('net', 'route change to <route ipv4 default> in $machine, median', median(machine), 'ms', median(kernel)),
      figure('net', 'route change to <route ipv4 default> in $machine, p99', p99(machine), 'ms', p99(kernel)),
      figure('net', 'route change to <default-route ipv4> in $config, median', median(config), 'ms', median(kernel)),
      figure('net', 'route change to <default-route ipv4> in $config, p99', p99(config), 'ms', p99(kernel)),
      figure('net', 'route deleted to <default-route ipv4> retracted, median', median(removal), 'ms', median(kernel)),
      figure('net', 'interface monitor resident memory', monitorRss / 1024, 'MiB', idleRss / 1024),
    ]);
  } finally {
    events.socket.close();
    requests.socket.close();
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.env.NET_BENCH_NAMESPACE === undefined) process.exitCode = outside();
else await inside();
