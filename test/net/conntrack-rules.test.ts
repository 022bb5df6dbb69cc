// The selection rule, addresses and nets, and TrIPE's conntrack.conf syntax, without a bus.
// Source-address lookups run for real inside a network namespace this test creates.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { parse, sym, stringify } from '../../src/preserves/index.ts';
import { parseAddress, parseNet, netContains } from '../../src/net/peer-address.ts';
import { parseConntrackFile } from '../../src/net/conntrack-config-file.ts';
import { parsePeerGroupAssertion, type PeerGroup } from '../../src/net/peer-group.ts';
import { decidePeers } from '../../src/net/peer-selection.ts';
import { joinPeerGroups } from '../../src/net/peer-sources.ts';

test('nets contain addresses of their own family only; TrIPE mask forms', () => {
  assert.ok(netContains(parseNet('192.0.2.0/24'), parseAddress('192.0.2.77')));
  assert.ok(!netContains(parseNet('192.0.2.0/24'), parseAddress('198.51.100.1')));
  assert.ok(netContains(parseNet('192.0.2.0/255.255.255.0'), parseAddress('192.0.2.1')));
  assert.ok(netContains(parseNet('0.0.0.0/0'), parseAddress('203.0.113.9')));
  assert.ok(netContains(parseNet('2001:db8::/32'), parseAddress('2001:db8:1::5')));
  assert.ok(!netContains(parseNet('2001:db8::/32'), parseAddress('192.0.2.1')));
  assert.ok(netContains(parseNet('::ffff:0:0/96'), parseAddress('::ffff:192.0.2.1')));
  assert.throws(() => parseNet('192.0.2.1/24'), /bits set beyond mask/);
  assert.throws(() => parseNet('192.0.2.0'), /missing mask/);
  assert.throws(() => parseNet('192.0.2.0/33'), /too long/);
  assert.throws(() => parseAddress('192.0.2'), /not an IPv4 or IPv6 address/);
});

const CONF = `# conntrack.conf as TrIPE reads it
; another comment
test-addr = 203.0.113.7

[office]
home = 192.0.2.0/24
away = 198.51.100.9 198.51.100.0/24
down = 0.0.0.0/0

[lab]
lab-a : 2001:db8::/32
`;

test('conntrack.conf: comments, test-addr, groups, targets; names become symbols', () => {
  const f = parseConntrackFile('/etc/tripe/conntrack.conf', CONF);
  assert.deepEqual(f.errors.map((e) => e.message), []);
  assert.equal(f.testAddress?.text, '203.0.113.7');
  assert.deepEqual(f.groups.map((g) => [g.name, g.origin, g.patterns.map((p) => [p.tag, p.target?.text ?? null, p.net.text])]), [
    [sym('office'), '/etc/tripe/conntrack.conf:5', [[sym('home'), null, '192.0.2.0/24'], [sym('away'), '198.51.100.9', '198.51.100.0/24'], [sym('down'), null, '0.0.0.0/0']]],
    [sym('lab'), '/etc/tripe/conntrack.conf:10', [[sym('lab-a'), null, '2001:db8::/32']]],
  ]);
});

test('conntrack.conf errors: file:line: message in TrIPE words, only the faulty group stops', () => {
  const f = parseConntrackFile('c.conf', `colour = blue
[a]
x = 192.0.2.1/24
[b]
y = 198.51.100.0/24
[c]
z = 192.0.2.300 192.0.2.0/24
[b]
what is this
w = 192.0.2.1
`);
  assert.deepEqual(f.errors.map((e) => e.message), [
    "c.conf:1: unknown global option `colour'",
    "c.conf:3: invalid IP network `192.0.2.1/24': network contains bits set beyond mask",
    "c.conf:7: invalid IP address `192.0.2.300': not an IPv4 or IPv6 address",
    "c.conf:8: duplicate group name `b' (first at c.conf:4)",
    'c.conf:9: failed to parse line: "what is this"',
    'c.conf:10: no network defined',
  ]);
  assert.deepEqual(f.groups.map((g) => [g.nameText, g.broken]), [['a', true], ['b', true], ['c', true]]);
  const ok = parseConntrackFile('d.conf', '[a]\nx = 192.0.2.0/24\n[b]\ny = 192.0.2.0/33\n');
  assert.deepEqual(ok.groups.map((g) => [g.nameText, g.broken]), [['a', false], ['b', true]]);
});

test('<peer-group …> assertions: tags and groups kept as written; bad patterns named', () => {
  const r = parsePeerGroupAssertion(parse('<peer-group "Office VPN" [[home "192.0.2.0/24"] ["away/2" "198.51.100.1" "198.51.100.0/24"]]>'));
  assert.deepEqual(r.errors, []);
  assert.equal(r.group!.name, 'Office VPN');
  assert.deepEqual(r.group!.patterns.map((p) => p.tag), [sym('home'), 'away/2']);
  const bad = parsePeerGroupAssertion(parse('<peer-group office [[home "192.0.2.0/24"] [x "10.0.0.0/8x"] [y 12]]>'));
  assert.equal(bad.group!.broken, true);
  assert.deepEqual(bad.errors.map((e) => e.message), [
    '<peer-group office [[home "192.0.2.0/24"] [x "10.0.0.0/8x"] [y 12]]>: pattern 2: invalid IP network `10.0.0.0/8x\': bad mask `8x\'',
    '<peer-group office [[home "192.0.2.0/24"] [x "10.0.0.0/8x"] [y 12]]>: pattern 3: NET must be a string, got 12',
  ]);
});

test('a group defined twice (file and assertion) is an error naming both, and selects nothing', () => {
  const file = parseConntrackFile('/t/c.conf', '[office]\nx = 192.0.2.0/24\n[lab]\ny = 192.0.2.0/24\n');
  const pr = parsePeerGroupAssertion(parse('<peer-group office [[z "192.0.2.0/24"]]>')).group!;
  const j = joinPeerGroups([[pr], file.groups]);
  assert.deepEqual(j.errors.map((e) => e.message), ["<peer-group office [[z \"192.0.2.0/24\"]]>: duplicate group name `office' (also defined at /t/c.conf:1)"]);
  assert.deepEqual(j.groups.map((g) => [g.nameText, g.broken]), [['office', true], ['office', true], ['lab', false]]);
});

test('selection: first containing net wins, down selects no peer, no route matches nothing', async () => {
  const groups: PeerGroup[] = [
    parsePeerGroupAssertion(parse('<peer-group g [[a "192.0.2.0/24"] [b "198.51.100.0/24"] [down "0.0.0.0/0"]]>')).group!,
    parsePeerGroupAssertion(parse('<peer-group t [[far "203.0.113.9" "198.51.100.0/24"] [near "192.0.2.0/24"]]>')).group!,
  ];
  const table = new Map<string, string | null>();
  const lookup = async (a: { text: string }) => { const s = table.get(a.text); return s ? parseAddress(s) : null; };
  const show = async () => (await decidePeers(groups, null, lookup)).map((d) => `${d.group.nameText}=${d.peer ? d.peer.tagText : '-'}`);
  table.set('1.2.3.4', '198.51.100.2');
  table.set('203.0.113.9', '198.51.100.2');
  assert.deepEqual(await show(), ['g=b', 't=far']);
  table.set('1.2.3.4', '203.0.113.50');
  assert.deepEqual(await show(), ['g=-', 't=far']);      // the `down` pattern matched
  table.set('1.2.3.4', null);
  table.set('203.0.113.9', '192.0.2.2');
  assert.deepEqual(await show(), ['g=-', 't=-']);        // t's own route leads elsewhere and there is no default
  const v6 = parsePeerGroupAssertion(parse('<peer-group six [["down/maintenance" "2001:db8:ff::/48"] [v6 "2001:db8::/32"] [v4 "192.0.2.0/24"]]>')).group!;
  const at = async (local: string) => (await decidePeers([v6], parseAddress('2001:db8:5::1'), async () => parseAddress(local)))[0];
  assert.equal((await at('2001:db8:1::2')).peer?.tagText, 'v6');
  const maint = await at('2001:db8:ff::2');
  assert.equal(maint.peer, null, 'a down/… tag selects no peer');
  assert.deepEqual(maint.outcomes.map((o) => o.selected), [true, false, false]);
  assert.equal((await at('192.0.2.2')).peer?.tagText, 'v4');
});

// ---- real lookups in a namespace ----
const ns = `ctr${process.pid}`;
const ip = (...a: string[]) => execFileSync('ip', ['-n', ns, ...a], { stdio: 'pipe' });

test('source addresses from the kernel: default route, specific route, src, IPv6, none', async (t) => {
  execFileSync('ip', ['netns', 'add', ns]);
  t.after(() => { try { execFileSync('ip', ['netns', 'del', ns]); } catch { /* gone */ } });
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'a0', 'type', 'veth', 'peer', 'name', 'a1');
  ip('link', 'add', 'b0', 'type', 'veth', 'peer', 'name', 'b1');
  for (const l of ['a0', 'a1', 'b0', 'b1']) ip('link', 'set', l, 'up');
  ip('addr', 'add', '192.0.2.2/24', 'dev', 'a0');
  ip('addr', 'add', '198.51.100.2/24', 'dev', 'b0');
  ip('addr', 'add', '198.51.100.3/24', 'dev', 'b0');
  ip('-6', 'addr', 'add', '2001:db8::2/64', 'dev', 'a0', 'nodad');
  const script = path.join(import.meta.dirname, 'fixtures', 'source-addresses.ts');
  const look = (targets: string[]) => JSON.parse(execFileSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', script, ...targets], { encoding: 'utf8' })) as (string | null)[];
  assert.deepEqual(look(['1.2.3.4', '2001:db8:5::1']), [null, null]);
  ip('route', 'add', 'default', 'via', '192.0.2.1');
  ip('-6', 'route', 'add', 'default', 'via', '2001:db8::1');
  ip('route', 'add', '203.0.113.0/24', 'via', '198.51.100.1', 'src', '198.51.100.3');
  assert.deepEqual(look(['1.2.3.4', '203.0.113.9', '2001:db8:5::1']), ['192.0.2.2', '198.51.100.3', '2001:db8::2']);
  ip('route', 'replace', 'default', 'via', '198.51.100.1', 'src', '198.51.100.2');
  assert.deepEqual(look(['1.2.3.4']), ['198.51.100.2']);
  ip('route', 'del', 'default');
  assert.deepEqual(look(['1.2.3.4', '203.0.113.9']), [null, '198.51.100.3']);
});
