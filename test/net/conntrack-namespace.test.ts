// The selection service for real: a bus inside a client namespace with two uplinks to two "ISP"
// namespaces, real route changes, real peer daemons (openvpn tunnels for the office group), a UDP
// datagram through the selected tunnel after each switch.
//
// Routes reach the service as in the shipped tree: the real interface monitor publishes
// `<route …>` in the machine dataspace, network.pr's rule `<default-route ipv4>` in $config.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { parse, record } from '../../src/preserves/index.ts';
import type { Assertion, Ref } from '../../src/bus/index.ts';
import { NsBus, Uplinks, alive, ip, CONNTRACK_DAEMON } from './conntrack-harness.ts';

const hasOpenvpn = (() => { try { execFileSync('sh', ['-c', 'command -v openvpn'], { stdio: 'ignore' }); return true; } catch { return false; } })();

test('peers follow the default route: real routes, real daemons, a real tunnel after each switch', { skip: hasOpenvpn ? false : 'openvpn is not installed (.ci/run installs it)' }, async () => {
  const net = new Uplinks('n');
  const bus = new NsBus(net.c);
  const procs: ChildProcess[] = [];
  const key = path.join(bus.dir, 'static.key');
  const startIn = (ns: string, argv: string[]): ChildProcess => {
    const p = spawn('ip', ['netns', 'exec', ns, ...argv], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    procs.push(p);
    return p;
  };
  try {
    net.create();
    execFileSync('openvpn', ['--genkey', 'secret', key], { stdio: 'ignore' });
    const ovpn = (local: string, remote: string | null, me: string, peer: string) => [
      'openvpn', '--dev', 'tun', '--secret', key, '--cipher', 'AES-256-CBC', '--auth', 'SHA256', '--disable-dco',
      '--local', local, ...(remote ? ['--remote', remote] : []), '--ifconfig', me, peer, '--verb', '1', '--ping', '1',
    ];
    startIn(net.a, ovpn('192.0.2.1', null, '203.0.113.1', '203.0.113.2'));
    startIn(net.b, ovpn('198.51.100.1', null, '203.0.113.5', '203.0.113.6'));
    // A UDP listener behind each ISP's tunnel end, printing "FROM-ADDRESS TEXT" per datagram.
    const listen = (ns: string) => {
      const p = startIn(ns, [process.execPath, '-e', `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>console.log(r.address+' '+m));s.bind(7777)`]);
      const box = { text: '' };
      p.stdout!.on('data', (b) => { box.text += String(b); });
      return box;
    };
    const heardA = listen(net.a);
    const heardB = listen(net.b);
    const cmd = (argv: string[]) => `[${argv.map((a) => JSON.stringify(a)).join(' ')}]`;
    await bus.start({
      'conntrack.pr': CONNTRACK_DAEMON + `
<conntrack-settle-ms 400>
<conntrack-recheck-interval 3600>
<peer-group office [[a "192.0.2.0/24"] [b "198.51.100.0/24"] [down "0.0.0.0/0"]]>
<peer-group special [[far "203.0.113.99" "198.51.100.0/24"] [near "203.0.113.99" "192.0.2.0/24"]]>
<daemon <vpn-peer office a> { argv: ${cmd(ovpn('192.0.2.2', '192.0.2.1', '203.0.113.2', '203.0.113.1'))} }>
<daemon <vpn-peer office b> { argv: ${cmd(ovpn('198.51.100.2', '198.51.100.1', '203.0.113.6', '203.0.113.5'))} }>
<daemon <vpn-peer special far> ["sleep" "1000"]>
<daemon <vpn-peer special near> ["sleep" "1000"]>
`,
    });
    await bus.until(() => bus.has('<service-state <daemon conntrack> ready>') && bus.has('<service-state <daemon interface-monitor> ready>'), 'the conntrack daemon and the interface monitor');

    const statusCount = () => {
      for (const k of bus.seen.keys()) { const m = /^<conntrack-status \{.*decisions: (\d+)/.exec(k); if (m) return Number(m[1]); }
      return -1;
    };
    const sendThroughTunnel = async (to: string, heard: { text: string }, from: string, word: string) => {
      const sender = startIn(net.c, [process.execPath, '-e', `const s=require('dgram').createSocket('udp4');setInterval(()=>s.send('${word}',7777,'${to}',()=>{}),100)`]);
      try {
        await bus.until(() => heard.text.includes(`${from} ${word}`), `datagram "${word}" through the tunnel to ${to}`, 30000);
      } finally {
        try { process.kill(-sender.pid!, 'SIGKILL'); } catch { /* gone */ }
      }
    };

    // 1. No default route: no peer (the special group's target has no route either).
    await bus.until(() => statusCount() >= 1, 'a first decision');
    assert.deepEqual(bus.selected(), []);

    // 2. Default via ISP A: office selects a (its openvpn runs and carries a datagram); the
    //    special group's target goes by the default too, from 192.0.2.2: near.
    ip(net.c, 'route', 'add', 'default', 'via', '192.0.2.1');
    await bus.until(() => bus.selected().join() === '<selected-peer office a>,<selected-peer special near>', 'office=a, special=near');
    await bus.until(() => bus.pidOf('<vpn-peer office a>') !== null, 'peer a running');
    const pidA = bus.pidOf('<vpn-peer office a>')!;
    assert.ok(alive(pidA));
    await sendThroughTunnel('203.0.113.1', heardA, '203.0.113.2', 'via-a-1');

    // 3. The target-specific pattern follows its own route, not the default.
    ip(net.c, 'route', 'add', '203.0.113.96/28', 'via', '198.51.100.1');
    await bus.until(() => bus.selected().join() === '<selected-peer office a>,<selected-peer special far>', 'special=far while office=a');
    await bus.until(() => bus.pidOf('<vpn-peer special far>') !== null && bus.pidOf('<vpn-peer special near>') === null, 'special far running, near stopped');

    // 4. Replace the default with ISP B: b runs, a is stopped, the datagram goes through b.
    ip(net.c, 'route', 'replace', 'default', 'via', '198.51.100.1');
    await bus.until(() => bus.selected().join() === '<selected-peer office b>,<selected-peer special far>', 'office=b');
    await bus.until(() => bus.pidOf('<vpn-peer office b>') !== null && !alive(pidA), 'b running, a stopped');
    await sendThroughTunnel('203.0.113.5', heardB, '203.0.113.6', 'via-b-1');

    // 5. A burst of 50 route changes (ending on ISP A) gives one decision after the settle delay.
    const before = statusCount();
    const batch = path.join(bus.dir, 'burst.batch');
    writeFileSync(batch, Array.from({ length: 50 }, (_, i) => `route replace default via ${i % 2 === 1 ? '192.0.2.1' : '198.51.100.1'}\n`).join(''));
    ip(net.c, '-batch', batch);
    await bus.until(() => statusCount() === before + 1, 'one decision after the burst');
    await bus.turn((t, config) => t.message(config, record<Ref>('conntrack-recheck')));
    await bus.until(() => statusCount() > before + 1, 'the recheck decision');
    assert.equal(statusCount(), before + 2, 'the burst gave exactly one decision (the next one is the recheck)');
    assert.ok([...bus.seen.keys()].some((k) => k.startsWith('<conntrack-status') && k.includes('reason: "recheck"')));
    assert.deepEqual(bus.selected(), ['<selected-peer office a>', '<selected-peer special far>']);

    // 6. On A again (its tunnel carries a datagram), then no default at all: no office peer,
    //    every office daemon stopped.
    await bus.until(() => bus.selected().includes('<selected-peer office a>') && bus.pidOf('<vpn-peer office a>') !== null, 'office=a again');
    await sendThroughTunnel('203.0.113.1', heardA, '203.0.113.2', 'via-a-2');
    const pidA2 = bus.pidOf('<vpn-peer office a>')!;
    ip(net.c, 'route', 'del', 'default');
    await bus.until(() => bus.selected().join() === '<selected-peer special far>', 'no office peer without a default route');
    await bus.until(() => !alive(pidA2) && bus.pidOf('<vpn-peer office a>') === null && bus.pidOf('<vpn-peer office b>') === null, 'office daemons stopped');

    // 7. Periodic recheck: with the interface monitor held, a route change nobody announces is
    //    found by the interval timer.
    let hold: number | undefined;
    const held = statusCount();
    await bus.turn((t, config) => { hold = t.assert(config, parse('<service-hold <daemon interface-monitor>>') as Assertion); });
    await bus.until(() => bus.pidOf('interface-monitor') === null && !bus.has('<service-state <daemon interface-monitor> ready>'), 'the monitor stopped');
    // Its routes go in one turn when it stops: one (unchanged) decision, then quiet.
    await bus.until(() => statusCount() > held, 'the decision after the monitor\'s routes went');
    const quiet = statusCount();
    ip(net.c, 'route', 'add', 'default', 'via', '198.51.100.1');
    bus.write('interval.pr', '<conntrack-recheck-interval 1>\n');
    await bus.until(() => bus.selected().includes('<selected-peer office b>'), 'the periodic recheck found the new default');
    assert.ok([...bus.seen.keys()].some((k) => k.startsWith('<conntrack-status') && k.includes('reason: "interval-timer"')));
    assert.ok(statusCount() > quiet);
    rmSync(path.join(bus.dir, 'config', 'interval.pr'));
    await bus.turn((t) => t.retract(hold));
    await bus.until(() => bus.has('<service-state <daemon interface-monitor> ready>'), 'the monitor back');

    // 8. Bad config: errors with their place; the other groups keep working.
    bus.write('bad.pr', '<peer-group lab [[x "10.0.0.1/8"] [y "not-an-address" "10.0.0.0/8"]]>\n<peer-group special [[z "0.0.0.0/0"]]>\n');
    await bus.until(() => bus.has('<conntrack-error "<peer-group lab [[x \\"10.0.0.1/8\\"] [y \\"not-an-address\\" \\"10.0.0.0/8\\"]]>: pattern 1: invalid IP network `10.0.0.1/8\': network contains bits set beyond mask">'), 'the bad net reported');
    assert.ok(bus.has('<conntrack-error "<peer-group lab [[x \\"10.0.0.1/8\\"] [y \\"not-an-address\\" \\"10.0.0.0/8\\"]]>: pattern 2: invalid IP address `not-an-address\': not an IPv4 or IPv6 address">'));
    assert.ok([...bus.seen.keys()].some((k) => k.startsWith('<conntrack-error') && k.includes('duplicate group name `special')), 'the duplicate reported');
    await bus.until(() => bus.selected().join() === '<selected-peer office b>', 'office keeps working; the duplicated group selects nothing');
    rmSync(path.join(bus.dir, 'config', 'bad.pr'));
    await bus.until(() => bus.selected().join() === '<selected-peer office b>,<selected-peer special far>' && ![...bus.seen.keys()].some((k) => k.startsWith('<conntrack-error')), 'errors gone with the file');
  } finally {
    await bus.close();
    for (const p of procs) { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }
    net.destroy();
  }
});

test('a TrIPE conntrack.conf with comments and several groups selects as its .pr equivalent, and is re-read on change', async () => {
  const net = new Uplinks('f');
  const bus = new NsBus(net.c);
  try {
    net.create();
    ip(net.c, 'route', 'add', 'default', 'via', '198.51.100.1');
    ip(net.c, 'route', 'add', '203.0.113.96/28', 'via', '192.0.2.1');
    const pr = `<conntrack-test-address "203.0.113.200">
<peer-group office [[home "192.0.2.0/24"] [away "198.51.100.0/24"] [down "0.0.0.0/0"]]>
<peer-group lab [[lab-a "203.0.113.99" "192.0.2.0/24"] [lab-b "198.51.100.0/24"]]>
<peer-group closed [[down "0.0.0.0/0"] [never "192.0.2.0/24"]]>
`;
    await bus.start({ 'conntrack.pr': CONNTRACK_DAEMON + '<conntrack-settle-ms 0>\n', 'groups.pr': pr });
    const expected = '<selected-peer lab lab-a>,<selected-peer office away>';
    await bus.until(() => bus.selected().join() === expected, 'the .pr selection');
    const conf = path.join(bus.dir, 'conntrack.conf');
    writeFileSync(conf, `### conntrack.conf, as TrIPE ships it
; test address
test-addr = 203.0.113.200

[office]
home = 192.0.2.0/24
away = 198.51.100.0/24
down = 0.0.0.0/0

# a group whose first pattern names its own target
[lab]
lab-a = 203.0.113.99 192.0.2.0/24
lab-b = 198.51.100.0/24

[closed]
down = 0.0.0.0/0
never = 192.0.2.0/24
`);
    rmSync(path.join(bus.dir, 'config', 'groups.pr'));
    await bus.until(() => bus.selected().length === 0, 'the .pr groups gone');
    bus.write('file.pr', `<conntrack-config-file ${JSON.stringify(conf)}>\n`);
    await bus.until(() => bus.selected().join() === expected, 'the same selection from the file');
    // syndicate-ctl peers: a fresh decision with --recheck; one group; an unknown group fails.
    const ctl = (...args: string[]) => execFileSync(process.execPath, [path.join(import.meta.dirname, '../../bin/syndicate-ctl.js'),
      '--socket', path.join(bus.dir, 'state', 'control.sock'), ...args], { encoding: 'utf8' });
    const before = JSON.parse(ctl('peers', '--json')) as { decisions: number };
    const view = JSON.parse(ctl('peers', '--recheck', '--json')) as { decisions: number; testAddress: string; reason: string; groups: { group: string; origin: string; selected: string | null; patterns: { tag: string; local: string | null; net: string; selected: boolean }[] }[] };
    assert.ok(view.decisions > before.decisions);
    assert.equal(view.reason, 'recheck');
    assert.equal(view.testAddress, '1.2.3.4');
    assert.deepEqual(view.groups.map((g) => [g.group, g.origin, g.selected]), [['closed', `${conf}:15`, 'down'], ['lab', `${conf}:11`, 'lab-a'], ['office', `${conf}:5`, 'away']]);
    assert.deepEqual(view.groups[2].patterns.map((p) => [p.tag, p.net, p.local, p.selected]), [
      ['home', '192.0.2.0/24', '198.51.100.2', false], ['away', '198.51.100.0/24', '198.51.100.2', true], ['down', '0.0.0.0/0', '198.51.100.2', false]]);
    const table = ctl('peers', 'lab');
    assert.match(table, /^lab\s+lab-a\s+203\.0\.113\.99\s+192\.0\.2\.0\/24\s+192\.0\.2\.2\s+selected$/m);
    assert.doesNotMatch(table, /office/);
    assert.throws(() => ctl('peers', 'nosuchgroup'), (e: { status: number; stderr: string }) => e.status === 1 && /^syndicate-ctl: peers: unknown group nosuchgroup\n$/.test(e.stderr));
    // Re-read on change; a bad line names its place and leaves the other groups working.
    writeFileSync(conf + '.tmp', `[office]\nhome = 192.0.2.0/24\naway = 198.51.100.0/24\n[lab]\nlab-b = 198.51.100.0/33\n`);
    execFileSync('mv', [conf + '.tmp', conf]);
    await bus.until(() => bus.selected().join() === '<selected-peer office away>', 'the edited file');
    assert.ok(bus.has(`<conntrack-error ${JSON.stringify(`${conf}:5: invalid IP network \`198.51.100.0/33': prefix length 33 too long for ipv4`)}>`));
    assert.ok(existsSync(conf));
    // A file that is not there yet is an error until it appears; a folder is refused.
    const late = path.join(bus.dir, 'late.conf');
    bus.write('late.pr', `<conntrack-config-file ${JSON.stringify(late)}>\n<conntrack-config-file ${JSON.stringify(bus.dir)}>\n`);
    await bus.until(() => bus.has(`<conntrack-error ${JSON.stringify(`${late}: cannot read: ENOENT`)}>`) && bus.has(`<conntrack-error ${JSON.stringify(`${bus.dir}: not a regular file`)}>`), 'errors for a missing file and a folder');
    writeFileSync(late, '[late]\nl = 0.0.0.0/0\n');
    await bus.until(() => bus.selected().join() === '<selected-peer late l>,<selected-peer office away>', 'the file, once it appears');
  } finally {
    await bus.close();
    net.destroy();
  }
});
