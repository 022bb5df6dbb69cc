// The relay actor (spec §6) over real sockets: both syntaxes, refs passed both ways and
// released, sync both ways, and malformed or hostile input closing only its own connection.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Actor, P, setLogHook, type LogEntry, type Ref, type Turn } from '../../src/bus/index.ts';
import { Embedded, peel, record } from '../../src/preserves/index.ts';
import { attachRelay, type RelayHandle } from '../../src/relay/relay.ts';
import type { Syntax } from '../../src/relay/framing.ts';
import { show } from '../bus/harness.ts';
import { socketPair, until } from './relay-harness.ts';

interface Pair {
  server: RelayHandle;
  client: RelayHandle;
  serverActor: Actor;
  clientActor: Actor;
  ds: Ref;
  serverSaw: number[];
  sockets: [net.Socket, net.Socket];
}

/** A server exporting a dataspace as OID 0 and a client importing it, over a socket pair. */
async function relayPair(syntax: Syntax): Promise<Pair> {
  const [a, b] = await socketPair();
  const serverSaw: number[] = [];
  a.on('data', (c: Buffer) => serverSaw.push(c[0]));
  let server!: RelayHandle, client!: RelayHandle, ds!: Ref;
  const serverActor = Actor.boot('server', (t) => {
    ds = t.dataspace('served');
    server = attachRelay(t, a, a, { syntax: 'binary', exportRef: ds, name: 'server' });
  });
  const clientActor = Actor.boot('client', (t) => {
    client = attachRelay(t, b, b, { syntax, importOid0: true, name: 'client' });
  });
  await until(() => client !== undefined && server !== undefined);
  return { server, client, serverActor, clientActor, ds, serverSaw, sockets: [a, b] };
}

function turnIn(actor: Actor, f: (t: Turn) => void): void {
  actor.root.turn(f);
}

for (const syntax of ['binary', 'text'] as const) {
  test(`relay (${syntax}): refs both ways, messages, release shrinks the tables`, async () => {
    const p = await relayPair(syntax);
    // Server side: for each <hello #:x>, assert <reply #:serverObj> at x; serverObj records messages.
    const serverGot: string[] = [];
    let serverObj!: Ref;
    turnIn(p.serverActor, (t) => {
      serverObj = t.ref({ message: (_t, v) => void serverGot.push(show(v)) });
      t.during(p.ds, P.rec('hello', P.bind()), (t, [x]) => {
        t.assert((peel(x) as Embedded<Ref>).value, record('reply', new Embedded<Ref>(serverObj)));
      });
    });
    const clientGot: string[] = [];
    let replyRef: Ref | null = null;
    let hello = 0;
    turnIn(p.clientActor, (t) => {
      const clientObj = t.ref({
        assert: (_t, v) => {
          clientGot.push('+' + show(v));
          replyRef = ((peel(v) as ReturnType<typeof record>).fields[0] as Embedded<Ref>).value;
        },
        retract: () => void clientGot.push('-'),
      });
      hello = t.assert(p.client.peer!, record('hello', new Embedded<Ref>(clientObj)));
    });
    await until(() => replyRef !== null, 'reply');
    assert.deepEqual(clientGot, ['+<reply #:ref>']);
    assert.equal(p.serverSaw[0], syntax === 'text' ? '['.charCodeAt(0) : 0xb5);
    assert.deepEqual(p.server.stats(), { exported: 2, imported: 1, inboundAssertions: 1, outboundAssertions: 1 });
    assert.deepEqual(p.client.stats(), { exported: 1, imported: 2, inboundAssertions: 1, outboundAssertions: 1 });

    // A message through the imported ref ("yours" on the way back is not needed: plain data).
    turnIn(p.clientActor, (t) => t.message(replyRef!, record('ping', 1)));
    await until(() => serverGot.length === 1, 'ping');
    assert.deepEqual(serverGot, ['<ping 1>']);

    // Sending the server's own object back to it arrives as that object ("yours").
    let sameBack = false;
    turnIn(p.serverActor, (t) => {
      t.during(p.ds, P.rec('back', P.bind()), (_t, [x]) => {
        sameBack = (peel(x) as Embedded<Ref>).value === serverObj;
      });
    });
    let back = 0;
    turnIn(p.clientActor, (t) => void (back = t.assert(p.client.peer!, record('back', new Embedded<Ref>(replyRef!)))));
    await until(() => sameBack, 'back');
    turnIn(p.clientActor, (t) => t.retract(back));

    // Withdraw: every table returns to its initial state.
    turnIn(p.clientActor, (t) => t.retract(hello));
    await until(() => clientGot.length === 2, 'retraction of reply');
    await until(() => p.client.stats().exported === 0 && p.server.stats().imported === 0, 'tables to shrink');
    assert.deepEqual(p.server.stats(), { exported: 1, imported: 0, inboundAssertions: 0, outboundAssertions: 0 });
    assert.deepEqual(p.client.stats(), { exported: 0, imported: 1, inboundAssertions: 0, outboundAssertions: 0 });

    turnIn(p.clientActor, (t) => t.stopActor());
    await until(() => !p.server.facet.isLive, 'server relay to close on EOF');
    turnIn(p.serverActor, (t) => t.stopActor());
  });
}

test('relay: sync both ways', async () => {
  const p = await relayPair('binary');
  let synced = 0;
  turnIn(p.clientActor, (t) => t.sync(p.client.peer!, () => void synced++));
  await until(() => synced === 1, 'client-initiated sync');
  await until(() => p.client.stats().exported === 0 && p.server.stats().imported === 0, 'sync pins released');
  // The server syncs with an object the client exported (via an assertion that carries it).
  let obj: Ref | null = null;
  turnIn(p.serverActor, (t) => t.during(p.ds, P.rec('obj', P.bind()), (_t, [x]) => void (obj = (peel(x) as Embedded<Ref>).value)));
  turnIn(p.clientActor, (t) => void t.assert(p.client.peer!, record('obj', new Embedded<Ref>(t.ref({})))));
  await until(() => obj !== null, 'obj');
  turnIn(p.serverActor, (t) => t.sync(obj!, () => void synced++));
  await until(() => synced === 2, 'server-initiated sync');
  turnIn(p.clientActor, (t) => t.stopActor());
  turnIn(p.serverActor, (t) => t.stopActor());
});

/** A server accepting relay connections that export one dataspace; logs captured. */
async function relayServer(): Promise<{ port: number; ds: Ref; actor: Actor; close: () => void }> {
  let ds!: Ref;
  const actor = Actor.boot('srv', (t) => {
    ds = t.dataspace('shared');
    t.preventInertCheck();
  });
  const server = net.createServer((s) => {
    actor.root.turn((t) => void attachRelay(t, s, s, { syntax: 'binary', exportRef: ds, name: 'conn' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { port: (server.address() as net.AddressInfo).port, ds, actor, close: () => server.close() };
}

/** Sends raw bytes and collects what comes back until the server closes the connection. */
function rawExchange(port: number, bytes: Uint8Array | string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(Buffer.concat(chunks).toString('latin1')));
    s.on('connect', () => s.write(bytes));
    setTimeout(() => { s.destroy(); reject(new Error('server did not close the connection')); }, 5000).unref();
  });
}

test('relay: malformed and hostile input closes only that connection, with an error packet and a log line', async () => {
  const logs: LogEntry[] = [];
  const old = setLogHook((e) => void logs.push(e));
  try {
    const srv = await relayServer();
    // A well-behaved client stays connected throughout.
    const [good] = await Promise.all([new Promise<net.Socket>((r) => { const s = net.connect({ port: srv.port, host: '127.0.0.1' }, () => r(s)); })]);
    let goodClient!: RelayHandle;
    const seen: string[] = [];
    const clientActor = Actor.boot('good', (t) => {
      goodClient = attachRelay(t, good, good, { syntax: 'text', importOid0: true, name: 'good' });
      t.observe(goodClient.peer!, P.rec('note', P.bind()), { added: (_t, [v]) => void seen.push(show(v)) });
    });

    const cases: [string, Uint8Array | string, RegExp][] = [
      ['text syntax error', '[[0 <A <x> 1>]]]\n}}}', /^<error "malformed packet: text packet at stream byte 15: /],
      ['not a packet', '"just a string"', /<error "malformed packet: packet must be a turn/],
      ['bad event', '[[0 <Q 1>]]', /<error "malformed packet: turn event 0: unknown event label Q/],
      ['bad wire ref', '[[0 <A <x #:[7 7]> 1>]]', /<error "malformed packet: .*wire ref/],
      ['duplicate handle', '[[0 <A <x> 1>] [0 <A <y> 1>]]', /<error "assertion with duplicate handle 1"/],
      ['transient reference', '[[0 <M <x #:[0 5]>>]]', /<error "cannot receive transient reference"/],
      ['binary too short length', new Uint8Array([0xb5, 0xb5, 0xb0, 0x01, 0x00, 0xb4, 0xb3, 0x01, 0x41, 0xb5, 0x84, 0xb0, 0x01, 0x01, 0x84, 0x84, 0x84, 0xff]), /error.*malformed packet: binary packet at stream byte 0/],
    ];
    for (const [what, bytes, expected] of cases) {
      const reply = await rawExchange(srv.port, bytes);
      if (process.env.SHOW_REPLIES) console.log(what, JSON.stringify(reply));
      assert.match(reply, expected, what);
    }
    assert.ok(logs.some((e) => e.level === 'warn' && /relay: closing connection: cannot receive transient reference/.test(e.message)), 'a log line per closed connection');
    // The good connection still works: assert a note into the shared space and see it come back.
    clientActor.root.turn((t) => void t.assert(goodClient.peer!, record('note', 'still here')));
    await until(() => seen.length === 1, 'the good connection round trip');
    assert.deepEqual(seen, ['"still here"']);
    // The refused connections' assertions are gone; the good one's note remains.
    clientActor.root.turn((t) => t.stopActor());
    srv.close();
    srv.actor.root.turn((t) => t.stopActor());
    await until(() => !goodClient.facet.isLive);
  } finally {
    setLogHook(old);
  }
});

test('relay: an error packet from the peer ends the relay, an extension and a nop do not', async () => {
  const logs: LogEntry[] = [];
  const old = setLogHook((e) => void logs.push(e));
  try {
    const srv = await relayServer();
    const reply = await rawExchange(srv.port, '<some-extension 1> #f [[0 <A <x> 1>]] <error "bye" #f>');
    assert.equal(reply, ''); // nothing to say back
    assert.ok(logs.some((e) => /peer sent error: bye/.test(e.message)));
    srv.close();
    srv.actor.root.turn((t) => t.stopActor());
  } finally {
    setLogHook(old);
  }
});
