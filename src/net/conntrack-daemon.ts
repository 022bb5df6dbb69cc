// The selection service as a protocol daemon (`bin/syndicate-conntrack.js`, shipped as /usr/lib/synit/conntrack): its OID 0 expects
// `{config: #:ref, machine: #:ref}` (machine optional) and runs the service against those
// dataspaces while that assertion stands. Lines for the operator go to stderr, which the bus logs.
import type { Facet, Ref } from '../bus/index.ts';
import { Dictionary, Embedded, peel, sym, type Value } from '../preserves/index.ts';
import { serveStdio } from '../relay/client.ts';
import { runConntrack } from './conntrack-service.ts';

function refAt(d: Dictionary<unknown>, key: string): Ref | null {
  const v = d.get(sym(key) as Value);
  const e = v === undefined ? undefined : peel(v as Value);
  return e instanceof Embedded ? (e.value as Ref) : null;
}

/** Runs the daemon on stdin/stdout until the bus closes them. */
export async function run(): Promise<void> {
  const report = (line: string) => process.stderr.write(line + '\n');
  const running = new Map<number, Facet>();
  await serveStdio((t) => t.ref({
    assert(t, v, h) {
      const d = peel(v);
      if (!(d instanceof Dictionary)) return void report(`conntrack: ignored a handover that is not {config: #:ref machine: #:ref}`);
      const config = refAt(d as Dictionary<unknown>, 'config');
      if (config === null) return void report('conntrack: the handover names no config dataspace');
      const machine = refAt(d as Dictionary<unknown>, 'machine');
      running.set(h, t.facet((t) => runConntrack(t, config, machine, { report })));
    },
    retract(t, h) {
      const f = running.get(h);
      running.delete(h);
      if (f) t.stop(f);
    },
  }), { name: 'conntrack', syntax: 'binary' });
}
