// The dataspace engine: box-and-client round trips, an actor ring, publication through the
// index against the naive linear-scan dataspace, and heap per live assertion.
import { Record, sym } from '../src/preserves/index.ts';
import { Actor, Dataspace, P, settle, type Ref, type Turn } from '../src/bus/index.ts';
import { observe } from '../src/bus/dataspace.ts';
import { NaiveDataspace } from '../test/bus/naive-dataspace.ts';
import { figure, report, type Figure } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const ROUND_TRIPS = 100_000;
const RING = 1_000;
const HOPS = 100_000;
const OBSERVERS = 1_000;
const PAIRS = 100_000;
const NAIVE_PAIRS = 5_000;
const HELD = 100_000;

const now = () => Number(process.hrtime.bigint()) / 1e9;
const $box = sym('box-state'), $set = sym('set-box');

/** The box holds a number as an assertion; the client sees it and asks for the next one. */
async function boxAndClient(): Promise<number> {
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  const t0 = now();
  Actor.boot('bench', (t) => {
    const ds = t.dataspace();
    t.spawn('box', (t) => {
      const value = t.field(0);
      t.assertDataflow(ds, () => new Record<Ref>($box, [value.value]));
      t.onMessage(ds, P.rec($set, P.bind()), (_t, [v]) => void (value.value = v as number));
    });
    t.spawn('client', (t) => {
      t.observe(ds, P.rec($box, P.bind()), {
        added: (t, [v]) => {
          const n = v as number;
          if (n === ROUND_TRIPS) { finished(); t.stopActor(); return; }
          t.message(ds, new Record<Ref>($set, [n + 1]));
        },
      });
    });
  });
  await done;
  return ROUND_TRIPS / (now() - t0);
}

/** The same round trips as two functions handing a number back and forth through a queue. */
async function plainRoundTrips(): Promise<number> {
  const t0 = now();
  await new Promise<void>((resolve) => {
    let box = 0;
    const client = (v: number) => (v === ROUND_TRIPS ? resolve() : queueMicrotask(() => set(v + 1)));
    const set = (v: number) => { box = v; queueMicrotask(() => client(box)); };
    client(0);
  });
  return ROUND_TRIPS / (now() - t0);
}

/** A token passed around a ring of actors, one message per hop. */
async function ring(): Promise<number> {
  const refs: Ref[] = [];
  let finished!: () => void;
  const done = new Promise<void>((r) => (finished = r));
  for (let i = 0; i < RING; i++) {
    Actor.boot('ring' + i, (t) => {
      refs[i] = t.ref({
        message: (t, v) => {
          const n = v as number;
          if (n === 0) finished();
          else t.message(refs[(i + 1) % RING], n - 1);
        },
      });
    });
  }
  await settle();
  const t0 = now();
  refs[0].relay.turn((t) => t.message(refs[0], HOPS));
  await done;
  return HOPS / (now() - t0);
}

/** Baseline for the ring: the same hops as plain closures on the microtask queue. */
async function plainRing(): Promise<number> {
  const t0 = now();
  await new Promise<void>((resolve) => {
    const nodes: ((n: number) => void)[] = [];
    for (let i = 0; i < RING; i++) nodes[i] = (n) => (n === 0 ? resolve() : queueMicrotask(() => nodes[(i + 1) % RING](n - 1)));
    nodes[0](HOPS);
  });
  return HOPS / (now() - t0);
}

/** 1 000 observers of distinct constants; each assert/retract pair matches one of them. */
async function publication(naive: boolean, pairs: number): Promise<number> {
  let seen = 0;
  let ds!: Ref;
  let main!: Actor;
  Actor.boot('pub-ds', (t) => void (ds = t.ref(naive ? new NaiveDataspace() : new Dataspace())));
  await settle();
  main = Actor.boot('pub', (t) => {
    const obs = t.ref({ assert: () => void seen++ });
    for (let i = 0; i < OBSERVERS; i++) t.assert(ds, observe(P.rec('pub', P.lit(i), P.bind()), obs));
  });
  await settle();
  const t0 = now();
  const batch = 1000;
  for (let done = 0; done < pairs; done += batch) {
    main.root.turn((t: Turn) => {
      for (let k = 0; k < batch; k++) {
        const i = (done + k) % OBSERVERS;
        t.retract(t.assert(ds, new Record<Ref>(sym('pub'), [i, k])));
      }
    });
    await settle();
  }
  const rate = pairs / (now() - t0);
  if (seen !== pairs) throw new Error(`publication: expected ${pairs} deliveries, saw ${seen}`);
  return rate;
}

/** Heap bytes per live assertion, against a Map holding the same values by key. */
async function memory(): Promise<[number, number]> {
  const gc = (globalThis as { gc?: () => void }).gc;
  const heap = () => { gc?.(); gc?.(); return process.memoryUsage().heapUsed; };
  const values = Array.from({ length: HELD }, (_, i) => new Record<Ref>(sym('held'), [i, 'service-' + (i % 100)]));
  let ds!: Ref;
  let holder!: Actor;
  Actor.boot('mem-ds', (t) => void (ds = t.dataspace()));
  holder = Actor.boot('mem', () => {});
  await settle();
  const h0 = heap();
  holder.root.turn((t) => { for (const v of values) t.assert(ds, v); });
  await settle();
  const perAssertion = (heap() - h0) / HELD;
  const m0 = heap();
  const plain = new Map(values.map((v, i) => ['k' + i, v]));
  const perMapEntry = (heap() - m0) / HELD;
  void plain.size;
  return [perAssertion, perMapEntry];
}

/** Runs the benchmark and returns its figures. */
export async function bench(): Promise<Figure[]> {
  await boxAndClient(); // warm-up: the figure is steady-state throughput
  await boxAndClient();
  const box = await boxAndClient();
  const boxBase = await plainRoundTrips();
  await ring();
  const hops = await ring();
  const hopsBase = await plainRing();
  await publication(false, 10_000);
  const pub = await publication(false, PAIRS);
  const pubNaive = await publication(true, NAIVE_PAIRS);
  const [mem, memBase] = await memory();
  return [
    figure('dataspace', 'box-and-client', box, 'round trips/s', boxBase),
    figure('dataspace', 'ring of 1000 actors', hops, 'hops/s', hopsBase),
    figure('dataspace', 'publication, 1000 constant observers', pub, 'pairs/s', pubNaive),
    figure('dataspace', 'heap per live assertion', mem, 'bytes', memBase),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(await bench());
