// The monitor's rules without a kernel: rtnetlink messages (as the package parses them) in,
// one assertion per kernel object out; and the record shapes read back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { rt } from 'netlink';
import { showAssertion } from '../../src/bus/index.ts';
import { KernelState, type KernelMessage } from '../../src/net/kernel-state.ts';
import { formatIp } from '../../src/net/ip-text.ts';
import {
  addressRecord, interfaceRecord, parseAddress, parseInterface, parseRoute, routeRecord,
} from '../../src/net/network-assertions.ts';
import { parse } from '../../src/preserves/index.ts';

function link(op: 'new' | 'del', index: number, name: string, o: { up?: boolean; carrier?: boolean; family?: number; oper?: number } = {}): KernelMessage {
  const msg: rt.LinkMessage = {
    kind: 'link',
    data: { family: o.family ?? 0, index, type: 'ETHER', flags: { up: o.up ? true : undefined, lowerUp: o.carrier ? true : undefined } },
    attrs: { ifname: name, operstate: o.oper ?? (o.up ? 6 : 2), address: Buffer.from([2, 0, 0, 0, 0, index]) },
  };
  return { op, kind: 'link', msg };
}

function address(op: 'new' | 'del', index: number, ip: number[], prefixlen: number, scope = 0): KernelMessage {
  const msg: rt.AddressMessage = { kind: 'address', data: { family: ip.length === 4 ? 2 : 10, prefixlen, scope, index }, attrs: { local: Buffer.from(ip), address: Buffer.from(ip) } };
  return { op, kind: 'address', msg };
}

function route(op: 'new' | 'del', o: { oif?: number; gw?: number[]; dst?: number[]; dstLen?: number; metric?: number; table?: number; type?: 'UNICAST' | 'BLACKHOLE' }, replace = false): KernelMessage {
  const msg: rt.RouteMessage = {
    kind: 'route',
    data: { family: 2, dstLen: o.dstLen ?? 0, tos: 0, table: o.table ?? 254, type: o.type ?? 'UNICAST' },
    attrs: { table: o.table ?? 254, oif: o.oif, gateway: o.gw && Buffer.from(o.gw), dst: o.dst && Buffer.from(o.dst), priority: o.metric },
  };
  return { op, kind: 'route', msg, replace };
}

/** Applies messages and returns the changes as `+text` / `-key` lines. */
function step(s: KernelState, ...ms: KernelMessage[]): string[] {
  for (const m of ms) s.apply(m);
  return [...s.takeChanges()].map(([k, v]) => (v === null ? `-${k}` : `+${showAssertion(v)}`)).sort();
}

test('IPv6 text follows RFC 5952', () => {
  const v6 = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');
  assert.equal(formatIp(Buffer.from([192, 0, 2, 1])), '192.0.2.1');
  assert.equal(formatIp(v6('2001 0db8 0000 0000 0000 0000 0000 0002')), '2001:db8::2');
  assert.equal(formatIp(v6('0000 0000 0000 0000 0000 0000 0000 0001')), '::1');
  assert.equal(formatIp(v6('0000 0000 0000 0000 0000 0000 0000 0000')), '::');
  assert.equal(formatIp(v6('2001 0db8 0000 0001 0000 0000 0000 0001')), '2001:db8:0:1::1', 'the longest zero run');
  assert.equal(formatIp(v6('2001 0db8 0000 0000 0001 0000 0000 0001')), '2001:db8::1:0:0:1', 'the first of equal runs');
  assert.equal(formatIp(v6('2001 0db8 0000 0001 0001 0001 0001 0001')), '2001:db8:0:1:1:1:1:1', 'a single zero stays');
  assert.equal(formatIp(v6('fe80 0000 0000 0000 c85f 9cff fe82 41f9')), 'fe80::c85f:9cff:fe82:41f9');
});

test('records read back as they were built; other shapes are refused', () => {
  const i = { name: 'eth0', index: 2, type: 'normal', administrativeState: 'up', operationalState: 'lower-layer-down', carrier: 'no-carrier', linkAddr: '02:00:00:00:00:01' } as const;
  assert.deepEqual(parseInterface(interfaceRecord(i)), i);
  const r = { family: 'ipv6', destination: 'default', priority: 1024, typeOfService: 0, interfaceName: null, gateway: 'fe80::1' } as const;
  assert.deepEqual(parseRoute(routeRecord(r)), r);
  const a = { interfaceName: 'eth0', family: 'ipv4', address: '192.0.2.2/24', scope: 'global' } as const;
  assert.deepEqual(parseAddress(addressRecord(a)), a);
  assert.equal(showAssertion(routeRecord({ ...r, family: 'ipv4', destination: '192.0.2.0/24', interfaceName: 'eth0', gateway: null })), '<route ipv4 "192.0.2.0/24" 1024 0 "eth0" #f>');
  for (const bad of ['<interface "eth0" 2 normal up up carrier>', '<interface "eth0" 2 fast up up carrier "">', '<route ipv5 default 0 0 #f #f>',
    '<route ipv4 default 0 0 eth0 #f>', '<address "eth0" ipv4 "192.0.2.2/24" {}>', '<address "eth0" ipv4 "192.0.2.2/24">']) {
    const v = parse(bad);
    assert.equal(parseInterface(v) ?? parseRoute(v) ?? parseAddress(v), null, bad);
  }
});

test('one assertion per object, replaced only when it changes', () => {
  const s = new KernelState();
  assert.deepEqual(step(s, link('new', 2, 'eth0')), ['+<interface "eth0" 2 normal down down no-carrier "02:00:00:00:00:02">']);
  assert.deepEqual(step(s, link('new', 2, 'eth0')), [], 'the same state again changes nothing');
  assert.deepEqual(step(s, link('new', 2, 'eth0', { up: true, carrier: true })), ['+<interface "eth0" 2 normal up up carrier "02:00:00:00:00:02">']);
  assert.deepEqual(step(s, link('del', 2, 'eth0')), ['-link:2']);
});

test('an address or route waits for its interface, and follows its renames', () => {
  const s = new KernelState();
  assert.deepEqual(step(s, address('new', 3, [192, 0, 2, 2], 24), route('new', { oif: 3, gw: [192, 0, 2, 1] })), []);
  assert.deepEqual(step(s, link('new', 3, 'eth1', { up: true, carrier: true })), [
    '+<address "eth1" ipv4 "192.0.2.2/24" {scope: global}>',
    '+<interface "eth1" 3 normal up up carrier "02:00:00:00:00:03">',
    '+<route ipv4 default 0 0 "eth1" "192.0.2.1">',
  ]);
  assert.deepEqual(step(s, link('new', 3, 'uplink', { up: true, carrier: true })), [
    '+<address "uplink" ipv4 "192.0.2.2/24" {scope: global}>',
    '+<interface "uplink" 3 normal up up carrier "02:00:00:00:00:03">',
    '+<route ipv4 default 0 0 "uplink" "192.0.2.1">',
  ]);
});

test('bridge-port link messages (AF_BRIDGE) do not remove the link', () => {
  const s = new KernelState();
  step(s, link('new', 4, 'eth2', { up: true }));
  assert.deepEqual(step(s, link('del', 4, 'eth2', { family: 7 })), []);
  assert.equal(s.counts().links, 1);
});

test('routes: main table unicast only; a REPLACE drops the replaced route; a link going down drops its routes', () => {
  const s = new KernelState();
  step(s, link('new', 2, 'eth0', { up: true, carrier: true }));
  assert.deepEqual(step(s, route('new', { oif: 2, dst: [192, 0, 2, 255], dstLen: 32, table: 255 }), route('new', { type: 'BLACKHOLE', dst: [203, 0, 113, 0], dstLen: 24 })), []);
  assert.deepEqual(step(s, route('new', { oif: 2, gw: [192, 0, 2, 1], metric: 5 })), ['+<route ipv4 default 5 0 "eth0" "192.0.2.1">']);
  const replaced = step(s, route('new', { oif: 2, gw: [192, 0, 2, 3], metric: 5 }, true));
  assert.equal(replaced.length, 2);
  assert.ok(replaced.includes('+<route ipv4 default 5 0 "eth0" "192.0.2.3">'), replaced.join('\n'));
  assert.equal(s.counts().routes, 1);
  step(s, route('new', { oif: 2, dst: [198, 51, 100, 0], dstLen: 24 }));
  assert.equal(s.counts().routes, 2);
  step(s, link('new', 2, 'eth0', { up: false }));
  assert.equal(s.counts().routes, 0, 'the kernel flushed them without DELROUTE');
});

test('a dump replaces its table: what it lacks is gone', () => {
  const s = new KernelState();
  step(s, link('new', 2, 'eth0'), link('new', 3, 'eth1'));
  const dumped = [link('new', 3, 'eth1').msg];
  s.replaceTable('link', dumped);
  assert.deepEqual([...s.takeChanges()].map(([k, v]) => `${k} ${v === null ? 'gone' : 'kept'}`), ['link:2 gone']);
});
