// A client namespace with two uplinks to two "ISP" namespaces, a bus running inside the client
// namespace, and a connection to that bus's config dataspace that records what it sees.
// Everything made here is removed by `close()`, also after a failure.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { P, showAssertion, type Assertion, type Ref } from '../../src/bus/index.ts';
import { Embedded, parse, peel } from '../../src/preserves/index.ts';
import { connectUnix, type Client } from '../../src/relay/client.ts';

const top = path.resolve(import.meta.dirname, '../..');

/** Runs `ip ARGS` (optionally in namespace `ns`). */
export function ip(ns: string | null, ...args: string[]): string {
  return execFileSync('ip', ns === null ? args : ['-n', ns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** The namespaces: C (client) with `ua` 192.0.2.2/24 to A (192.0.2.1) and `ub` 198.51.100.2/24 to B (198.51.100.1). */
export class Uplinks {
  readonly c: string;
  readonly a: string;
  readonly b: string;
  constructor(tag: string) {
    this.c = `ct${tag}c${process.pid}`;
    this.a = `ct${tag}a${process.pid}`;
    this.b = `ct${tag}b${process.pid}`;
  }
  create(): void {
    for (const n of [this.c, this.a, this.b]) { ip(null, 'netns', 'add', n); ip(n, 'link', 'set', 'lo', 'up'); }
    ip(this.c, 'link', 'add', 'ua', 'type', 'veth', 'peer', 'name', 'ia', 'netns', this.a);
    ip(this.c, 'link', 'add', 'ub', 'type', 'veth', 'peer', 'name', 'ib', 'netns', this.b);
    ip(this.c, 'addr', 'add', '192.0.2.2/24', 'dev', 'ua');
    ip(this.c, 'addr', 'add', '198.51.100.2/24', 'dev', 'ub');
    ip(this.a, 'addr', 'add', '192.0.2.1/24', 'dev', 'ia');
    ip(this.b, 'addr', 'add', '198.51.100.1/24', 'dev', 'ib');
    ip(this.c, 'link', 'set', 'ua', 'up');
    ip(this.c, 'link', 'set', 'ub', 'up');
    ip(this.a, 'link', 'set', 'ia', 'up');
    ip(this.b, 'link', 'set', 'ib', 'up');
  }
  destroy(): void {
    for (const n of [this.c, this.a, this.b]) { try { ip(null, 'netns', 'del', n); } catch { /* not there */ } }
  }
}

/** A bus in namespace `ns` on a config folder, and a client on its control socket. */
export class NsBus {
  readonly dir = mkdtempSync(path.join(os.tmpdir(), `conntrack-${process.pid}-`));
  private proc: ChildProcess | null = null;
  client: Client | null = null;
  config: Ref | null = null;
  machine: Ref | null = null;
  /** Live assertions in the config dataspace, by their text. */
  readonly seen = new Map<string, Assertion>();
  output = '';
  private waiters: (() => void)[] = [];

  constructor(readonly ns: string) {}

  /** Writes `name` into the config folder. */
  write(name: string, text: string): void {
    writeFileSync(path.join(this.dir, 'config', name), text);
  }

  async start(files: { [name: string]: string }): Promise<void> {
    execFileSync('mkdir', ['-p', path.join(this.dir, 'config'), path.join(this.dir, 'state')]);
    for (const [n, t] of Object.entries(files)) this.write(n, t);
    this.proc = spawn('ip', ['netns', 'exec', this.ns, process.execPath, path.join(top, 'bin/syndicate-server.js'), '--no-banner',
      '--state', path.join(this.dir, 'state'), '-c', path.join(this.dir, 'config')], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    this.proc.stdout!.on('data', (b) => { this.output += String(b); });
    this.proc.stderr!.on('data', (b) => { this.output += String(b); });
    const sock = path.join(this.dir, 'state', 'control.sock');
    for (let i = 0; ; i++) {
      if (existsSync(sock)) {
        try {
          this.client = await connectUnix(sock, { name: 'conntrack-test' });
          break;
        } catch { /* not listening yet */ }
      }
      if (i > 600 || this.proc.exitCode !== null) throw new Error('bus did not start: ' + this.output);
      await new Promise((r) => setTimeout(r, 50));
    }
    this.config = this.client.peer!;
    await this.client.turn((t) => {
      t.observe(this.config!, P.bind(), {
        added: (_t, c) => { this.seen.set(showAssertion(c[0]), c[0]); this.wake(); },
        removed: (_t, c) => { this.seen.delete(showAssertion(c[0])); this.wake(); },
      });
      t.observe(this.config!, P.rec('machine-dataspace', P.bind()), {
        added: (_t, c) => { const e = peel(c[0]); if (e instanceof Embedded) this.machine = e.value as Ref; this.wake(); },
      });
    });
  }

  /** Re-checks every `until` (for conditions on state kept outside this class). */
  poke(): void {
    this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Resolves once `pred` holds (checked on every change), failing after `ms` with `what`. */
  async until(pred: () => boolean, what: string, ms = 30000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; seen:\n${[...this.seen.keys()].filter((k) => !k.startsWith('<log') && !k.startsWith('<Observe')).join('\n')}\n--- bus output:\n${this.output.slice(-3000)}`);
      await new Promise<void>((r) => { this.waiters.push(r); setTimeout(r, 200); });
    }
  }

  /** Whether an assertion with this text is live. */
  has(text: string): boolean {
    return this.seen.has(showAssertion(parse(text) as Assertion));
  }

  /** The `<selected-peer …>` assertions, as text, sorted. */
  selected(): string[] {
    return [...this.seen.keys()].filter((k) => k.startsWith('<selected-peer ')).sort();
  }

  /** The pid of the running daemon `<daemon NAME>`, or null. */
  pidOf(name: string): number | null {
    const prefix = `<daemon-status <daemon ${name}> `;
    for (const [k, v] of this.seen) {
      if (!k.startsWith(prefix)) continue;
      const m = /pid: (\d+)/.exec(showAssertion(v));
      if (m) return Number(m[1]);
    }
    return null;
  }

  /** Runs a turn of the test's client. */
  async turn(f: (t: import('../../src/bus/index.ts').Turn, config: Ref, machine: Ref | null) => void): Promise<void> {
    await this.client!.turn((t) => f(t, this.config!, this.machine));
  }

  async close(): Promise<void> {
    try { await this.client?.close(); } catch { /* closed */ }
    const p = this.proc;
    if (p && p.exitCode === null && p.pid !== undefined) {
      const gone = new Promise((r) => p.once('exit', r));
      try { process.kill(-p.pid, 'SIGTERM'); } catch { /* gone */ }
      const t = setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 15000);
      await gone;
      clearTimeout(t);
    }
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Whether process `pid` is alive (not a zombie). */
export function alive(pid: number): boolean {
  try {
    const s = execFileSync('cat', [`/proc/${pid}/stat`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return !/^\d+ \(.*\) Z/.test(s);
  } catch {
    return false;
  }
}

/**
 * The machine dataspace with the real interface monitor in it (and network.pr's
 * `<default-route FAMILY>` rule, without its DHCP and link handling), the conntrack daemon
 * handed both dataspaces, and every selected peer required as `<daemon <vpn-peer GROUP TAG>>`.
 */
export const CONNTRACK_DAEMON = `
let ?machine = dataspace
<machine-dataspace $machine>
<require-service <daemon interface-monitor>>
<daemon interface-monitor {
  argv: [${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(top, 'bin/interface-monitor.js'))} "--ready-fd" "3"]
  protocol: application/syndicate
  readyNotify: <fd 3>
}>
? <machine-dataspace ?m> [
  ? <service-object <daemon interface-monitor> ?cap> [ $cap { machine: $m } ]
  $m ? <route ?af default _ _ _ _> [ $config <default-route $af> ]
]
<require-service <daemon conntrack>>
<daemon conntrack { argv: [${JSON.stringify(process.execPath)} ${JSON.stringify(path.join(top, 'bin/syndicate-conntrack.js'))}] protocol: application/syndicate }>
? <machine-dataspace ?m> [
  ? <service-object <daemon conntrack> ?cap> [
    $cap { config: $config machine: $m }
  ]
]
? <selected-peer ?g ?tag> <require-service <daemon <vpn-peer $g $tag>>>
`;
