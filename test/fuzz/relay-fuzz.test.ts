// Fuzz: mutated wire packets (text and binary framing, truncated, oversized lengths, wrong
// shapes, bad OIDs, deep nesting) against a live relay listener on a real Unix socket, each on
// its own connection. Bounded by a count and by wall-clock time. Failure: a connection other
// than the fuzzed one closed, an uncaught exception or error-level log line (an exception other
// than the typed errors), an input not handled within 1 s, or the relay not serving afterwards.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setLogHook, type LogEntry, type Ref } from '../../src/bus/index.ts';
import { Embedded, record } from '../../src/preserves/index.ts';
import { createGatekeeper } from '../../src/relay/gatekeeper.ts';
import { bind } from '../../src/relay/gatekeeper-protocol.ts';
import { PacketReader, PacketWriter } from '../../src/relay/framing.ts';
import { parseWireRef, wireRefToValue, type WireRef } from '../../src/relay/wire-ref.ts';
import { mintSturdyRef, sturdyDescriptionToValue, sturdyRefToValue } from '../../src/relay/sturdy.ts';
import { connectUnix, resolveStep, type Client } from '../../src/relay/client.ts';
import { unixListenerName } from '../../src/services/listeners/relay-listener-service.ts';
import { Service } from '../../src/services/supervision/service-protocol.ts';
import { testSystem, has } from '../services/service-harness.ts';

const MAX_INPUTS = 10_000;
const MAX_MS = 12_000;
const PER_INPUT_MS = 1000;
const WORKERS = 6;

/** Well-formed packets the mutations start from (text; binary versions are derived). */
const SEEDS = [
  '[[0 <A <resolve <ref {oid: "syndicate" sig: #x"69ca300c1dbfa08fba692102dd82311a"}> #:[0 0]> 1>]]',
  '[[0 <A <resolve <ref {oid: "syndicate" sig: #x"69ca300c1dbfa08fba692102dd82311a" caveats: [<reject <_>>]}> #:[0 0]> 1>] [0 <R 1>]]',
  '[[0 <A <resolve <noise {}> #:[0 0]> 7>]]',
  '[[0 <A <bind <ref {oid: "x" key: #[]}> #:[0 1] #:[0 2]> 3>]]',
  '[[0 <A <hello "x"> 1>] [0 <R 1>] [0 <R 1>]]',
  '[[0 <M <ping #:[0 3]>>]]',
  '[[0 <S #:[0 0]>]]',
  '[[0 <A <x #:[1 0]> 4>] [0 <A <y #:[1 0 <rewrite <bind <_>> <ref 0>>]> 5>]]',
  '[[5 <A <x> 1>] [0 <A <x> 18446744073709551616>]]',
  '<error "bye" #f>',
  '#f',
  '<ext 1 [2 3] {a: 4}>',
  '[[0 <A {k: [1 2.5 #t "s" #"b" sym], z: #{1 2}} 9>]]',
];

/** A small deterministic PRNG (mulberry32), so a failure can be replayed from its seed. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function varint(n: number): number[] {
  const out: number[] = [];
  while (n >= 0x80) {
    out.push((n % 128) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return out;
}

/** The seeds in both framings. */
function seedBytes(): Buffer[] {
  const writer = new PacketWriter<WireRef>({ syntax: 'binary', embeddedEncode: wireRefToValue });
  const out: Buffer[] = SEEDS.map((s) => Buffer.from(s));
  for (const s of SEEDS) {
    // (Seeds that are themselves bad packets stay text only.)
    const reader = new PacketReader<WireRef>({ embeddedDecode: (v) => new Embedded<WireRef>(parseWireRef(v)) });
    for (const r of reader.feed(Buffer.from(s + ' '))) if (r.ok) out.push(Buffer.from(writer.encode(r.packet)));
  }
  assert.ok(out.length > SEEDS.length + 8, 'most seeds have a binary form');
  return out;
}

const BAD_OIDS = ['-1', '1.5', '"s"', '99999999999999999999', 'sym', '<x>', '#t'];
const BAD_REFS = ['#:[7 7]', '#:x', '#:[1 0 junk]', '#:[0]', '#:[2 0]', '#:[0 -1]', '#:#:[0 0]'];

/** One mutated input. */
function mutate(rand: () => number, seeds: Buffer[]): Buffer {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const int = (n: number) => Math.floor(rand() * n);
  let b = Buffer.from(pick(seeds));
  const rounds = 1 + int(3);
  for (let r = 0; r < rounds; r++) {
    switch (int(11)) {
      case 0: { // flip bytes
        for (let i = 0, n = 1 + int(4); i < n && b.length > 0; i++) b[int(b.length)] ^= 1 << int(8);
        break;
      }
      case 1: { // insert random bytes
        const at = int(b.length + 1);
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(8) }, () => int(256))), b.subarray(at)]);
        break;
      }
      case 2: b = b.subarray(0, int(b.length)); break; // truncate
      case 3: { // delete a slice
        const at = int(b.length), n = int(8);
        b = Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
        break;
      }
      case 4: { // duplicate a slice
        const at = int(b.length), n = 1 + int(16);
        b = Buffer.concat([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]);
        break;
      }
      case 5: b = Buffer.concat([b, pick(seeds)]); break; // two packets back to back
      case 6: { // deep nesting, text or binary
        const n = 200 + int(3000);
        b = rand() < 0.5
          ? Buffer.concat([Buffer.from('['.repeat(n)), b, Buffer.from(']'.repeat(int(n + 1)))])
          : Buffer.concat([Buffer.alloc(n, 0xb5), b, Buffer.alloc(int(n + 1), 0x84)]);
        break;
      }
      case 7: { // oversized or lying binary length prefixes
        const len = pick([2 ** 24 + 1, 2 ** 40, 2 ** 53, 1e6, 0x7fffffff]);
        b = Buffer.concat([Buffer.from([0xb5, 0xb5, pick([0xb1, 0xb2, 0xb3, 0xb0]), ...varint(len)]), b.subarray(0, int(64))]);
        break;
      }
      case 8: { // bad OIDs in text
        const s = b.toString('latin1');
        b = Buffer.from(s.replace(/\[(\d+) </, () => `[${pick(BAD_OIDS)} <`).replace(/ (\d+)>\]/, () => ` ${pick(BAD_OIDS)}>]`), 'latin1');
        break;
      }
      case 9: { // bad embedded refs in text
        const s = b.toString('latin1');
        b = Buffer.from(s.replace(/#:\[\d+ \d+\]/, () => pick(BAD_REFS)), 'latin1');
        break;
      }
      case 10: { // wrong shapes: events and packets of the wrong kind or arity
        b = Buffer.from(pick([
          '[[0 <A>]]', '[[0 <A <x> 1 2>]]', '[[0 <R>]]', '[[0 <M>]]', '[[0 <S 5>]]', '[[0 <Q 1>]]', '[0 <A <x> 1>]',
          '[[0]]', '[[]]', '[]', '<>', '{}', '#t', '"string"', '12', '<error>', '<error 1 2>', '[[0 <A <x> 1>] 7]',
          '#x"b5b584"', '@ann [[0 <A <x> 1>]]', '[[0 <A @"note" <x> 1>]]', '#!"embedded"', '[[0 <A #:#:[0 0] 1>]]',
        ]));
        break;
      }
    }
  }
  return b;
}

/** Sends one input on its own connection, reads what comes back, resolves with the ms until closed. */
function runInput(sock: string, input: Buffer): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ path: sock });
    let t0 = 0;
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`input not handled within ${PER_INPUT_MS * 5} ms: ${JSON.stringify(input.toString('latin1').slice(0, 200))}`));
    }, PER_INPUT_MS * 5);
    s.on('data', () => {});
    s.on('error', () => {});
    s.on('close', () => {
      clearTimeout(timer);
      resolve(t0 === 0 ? 0 : performance.now() - t0);
    });
    s.on('connect', () => {
      t0 = performance.now();
      s.end(input);
    });
  });
}

test('fuzz: mutated wire packets close only their own connection, each within 1 s; the relay serves afterwards', async (t) => {
  const logs: LogEntry[] = [];
  const oldHook = setLogHook((e) => void logs.push(e));
  const uncaught: unknown[] = [];
  const onUncaught = (e: unknown) => void uncaught.push(e);
  process.on('uncaughtException', onUncaught);
  process.on('unhandledRejection', onUncaught);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `fuzz-${process.pid}-`));
  const sock = path.join(dir, 'bus.sock');
  let gk!: Ref;
  const ts = await testSystem({
    relayLimits: { maxConnections: 1000, maxConnectionsTotal: 1000 },
    onBoot: (t, s) => {
      gk = createGatekeeper(t, s.config);
      t.assert(s.config, bind<Ref>(sturdyDescriptionToValue<Ref>({ oid: 'syndicate', key: new Uint8Array(0) }), new Embedded<Ref>(s.config)));
    },
  });
  const clients: Client[] = [];
  const hello = async (who: string): Promise<Client> => {
    const c = await connectUnix(sock);
    clients.push(c);
    await c.turn((t) => void resolveStep(t, c.peer!, sturdyRefToValue(mintSturdyRef<Ref>(new Uint8Array(0), 'syndicate')), (t, ds) => {
      t.assert(ds, record('hello', who));
    }));
    await ts.until(has(`<hello "${who}">`), who);
    return c;
  };
  try {
    await ts.act((t) => void t.assert(ts.system.config, Service.run(unixListenerName(sock, gk))));
    await ts.until(has(`<service-state <relay-listener <unix "${sock}"> #:ref> ready>`), 'listener ready');
    const bystander = await hello('bystander');
    let bystanderClosed = false;
    void bystander.closed.then(() => void (bystanderClosed = true));

    const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000);
    const rand = prng(seed);
    const seeds = seedBytes();
    const start = performance.now();
    let tried = 0, slowest = 0;
    let slowestInput: Buffer = Buffer.alloc(0);
    const worker = async (): Promise<void> => {
      while (tried < MAX_INPUTS && performance.now() - start < MAX_MS) {
        tried++;
        const input = mutate(rand, seeds);
        const ms = await runInput(sock, input);
        if (ms > slowest) {
          slowest = ms;
          slowestInput = input;
        }
      }
    };
    await Promise.all(Array.from({ length: WORKERS }, worker));
    const line = `fuzz: ${tried} inputs tried in ${Math.round(performance.now() - start)} ms (seed ${seed}), slowest ${Math.round(slowest)} ms`;
    console.log(line);
    t.diagnostic(line);

    assert.ok(slowest < PER_INPUT_MS, `an input took ${Math.round(slowest)} ms (seed ${seed}): ${JSON.stringify(slowestInput.toString('latin1').slice(0, 300))}`);
    assert.deepEqual(uncaught.map(String), [], 'no uncaught exception');
    if (process.env.FUZZ_DUMP) fs.writeFileSync(process.env.FUZZ_DUMP, logs.map((e) => `${e.level} ${e.actor}: ${e.message} ${e.error ?? ""}`).join("\n"));
    const errors = logs.filter((e) => e.level === "error");
    assert.deepEqual(errors.map((e) => `${e.actor}: ${e.message} ${e.error ?? ''}`), [], `no error-level log line (seed ${seed})`);
    assert.ok(!bystanderClosed, 'the bystander connection is still open');
    assert.ok(ts.contents().includes('<hello "bystander">'), "the bystander's assertion stands");
    await hello('afterwards');
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    await ts.stop();
    setLogHook(oldHook);
    process.off('uncaughtException', onUncaught);
    process.off('unhandledRejection', onUncaught);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
