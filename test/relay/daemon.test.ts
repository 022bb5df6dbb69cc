// A protocol daemon (spec §3.5) written with the client library: the bus side imports the
// child's OID 0, hands it a dataspace, and the child asserts its own readiness there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Actor, P, type Ref } from '../../src/bus/index.ts';
import { Dictionary, Embedded, record, sym } from '../../src/preserves/index.ts';
import { attachRelay, type RelayHandle } from '../../src/relay/relay.ts';
import { show } from '../bus/harness.ts';
import { until } from './relay-harness.ts';

const fixture = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'ready-daemon.ts');

for (const syntax of ['binary', 'text'] as const) {
  test(`protocol daemon over stdio (${syntax}) asserts its own readiness`, async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', fixture, 'fixture-' + syntax, syntax], { stdio: ['pipe', 'pipe', 'inherit'] });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    const states: string[] = [];
    const echoes: string[] = [];
    let relay!: RelayHandle;
    let closed = false;
    const bus = Actor.boot('bus', (t) => {
      const config = t.dataspace('config');
      t.observe(config, P.rec('service-state', P.bind(), P.bind()), { added: (_t, cs) => void states.push(show(cs)) });
      t.onMessage(config, P.rec('echoed', P.bind()), (_t, [v]) => void echoes.push(show(v)));
      relay = attachRelay(t, child.stdout!, child.stdin!, { syntax, importOid0: true, name: 'daemon', onClose: () => void (closed = true) });
      const hello = new Dictionary<Ref>();
      hello.set(sym('dataspace'), new Embedded<Ref>(config));
      t.assert(relay.peer!, hello);
    });
    await until(() => states.length === 1, 'the daemon to be ready', 20000);
    assert.deepEqual(states, [`[<daemon "fixture-${syntax}"> ready]`]);
    bus.root.turn((t) => t.message(relay.peer!, record('echo', 42)));
    await until(() => echoes.length === 1, 'the echo');
    assert.deepEqual(echoes, ['42']);
    // Closing the relay closes the child's stdin; the daemon exits cleanly.
    bus.root.turn((t) => t.stop(relay.facet));
    assert.equal(await exited, 0);
    await until(() => closed);
    bus.root.turn((t) => t.stopActor());
  });
}
