// Event-loop delay of a bus while 200 clients at a time connect, resolve the default sturdy ref
// and drop (half of them mid-packet), against the same bus idle, in the same run. The clients
// run in a child process so only the bus's own loop is measured.
import { spawn } from 'node:child_process';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import net from 'node:net';
import { Embedded } from '../src/preserves/index.ts';
import { settle, type Ref } from '../src/bus/index.ts';
import { bind } from '../src/relay/gatekeeper-protocol.ts';
import { sturdyDescriptionToValue } from '../src/relay/sturdy.ts';
import { startSystem } from '../src/services/system.ts';
import { figure, report } from './report.ts';
import { freePort } from '../test/relay/server-process.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const CLIENTS = 200;
const PHASE_MS = 3000;

// The client side: rounds of CLIENTS connections; each sends a resolve and, for every other
// one, the start of another packet; it drops as soon as the answer comes. Prints rounds done.
const CLIENT_PROGRAM = `
const net = require('node:net');
const [port, clients, ms] = process.argv.slice(1).map(Number);
const resolve = '[[0 <A <resolve <ref {oid: "syndicate" sig: #x"69ca300c1dbfa08fba692102dd82311a"}> #:[0 0]> 1>]]';
const end = Date.now() + ms;
let connections = 0;
function one(i) {
  return new Promise((done) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.on('error', () => {});
    s.on('close', () => done());
    s.on('connect', () => s.write(i % 2 ? resolve : resolve + '[[0 <A <half'));
    s.on('data', () => { connections++; s.destroy(); });
  });
}
(async () => {
  while (Date.now() < end) await Promise.all(Array.from({ length: clients }, (_, i) => one(i)));
  console.log(connections);
})();
`;

/** p99 of the event-loop delay over `ms`, while `during` runs. */
async function p99During(ms: number, during: () => Promise<unknown>): Promise<number> {
  const h = monitorEventLoopDelay({ resolution: 1 });
  h.enable();
  await Promise.all([during(), new Promise((r) => setTimeout(r, ms))]);
  h.disable();
  return h.percentile(99) / 1e6;
}

async function main(): Promise<void> {
  const port = await freePort();
  const system = startSystem({
    ports: [port],
    writeLog: () => {},
    onBoot: (t, s) => void t.assert(s.config, bind<Ref>(sturdyDescriptionToValue<Ref>({ oid: 'syndicate', key: new Uint8Array(0) }), new Embedded<Ref>(s.config))),
  });
  // Warn lines (cut-off connections) would cost terminal time, not bus time.
  const { setLogHook } = await import('../src/bus/index.ts');
  setLogHook(() => {});
  await settle();
  await new Promise((r) => setTimeout(r, 500));

  const idle = await p99During(PHASE_MS, async () => {});
  let handled = 0;
  const loaded = await p99During(PHASE_MS, () => new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', CLIENT_PROGRAM, String(port), String(CLIENTS), String(PHASE_MS)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d) => void (out += d));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code !== 0) reject(new Error('client program failed: ' + code));
      handled = Number(out.trim());
      resolve();
    });
  }));
  system.actor.root.turn((t) => t.stopActor());
  await settle();
  report([
    figure('robust-relay', `event-loop delay p99, ${CLIENTS} clients connecting and dropping`, loaded, 'ms', idle),
    figure('robust-relay', 'connections answered per second under that load', handled / (PHASE_MS / 1000), 'conn/s'),
  ]);
  process.exit(0);
}

await main();
