// A real bus process running the shipped userSettings.pr under a root of its own, with the real
// user-settings-daemon program, and a client on its control socket.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Dictionary, Record, peel, sym } from '../../src/preserves/index.ts';
import { P, showAssertion, type Assertion, type Pattern, type Ref } from '../../src/bus/index.ts';
import { connectUnix, type Client } from '../../src/relay/client.ts';
import { Settings, SettingsPattern, type SettingsAction } from '../../src/settings/protocol.ts';
import { alive } from '../services/proc-helpers.ts';

const SERVER = path.resolve('bin/syndicate-server.js');
const CTL = path.resolve('bin/syndicate-ctl.js');

/** Resolves when `pred` holds (polled; generous deadline, never a fixed sleep). */
export async function until(pred: () => boolean | Promise<boolean>, what: string, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error('timed out waiting for ' + what);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A root folder: `etc/syndicate/services/` with the shipped userSettings.pr (and `scripts`), the daemon at /usr/lib/synit. */
export class SettingsRoot {
  private constructor(readonly dir: string) {}

  /**
   * `daemonOptions` (e.g. `restartDelay: 0.05`) are added to the shipped daemon spec, in a copy of
   * userSettings.pr; without them the shipped file itself is linked.
   */
  static async create(scripts: { [name: string]: string } = {}, daemonOptions = ''): Promise<SettingsRoot> {
    const dir = await mkdtemp(path.join(tmpdir(), `us-${process.pid}-`));
    const services = path.join(dir, 'etc/syndicate/services');
    await mkdir(services, { recursive: true });
    await mkdir(path.join(dir, 'usr/lib/synit'), { recursive: true });
    const shipped = path.resolve('etc/syndicate/services/userSettings.pr');
    if (daemonOptions === '') await symlink(shipped, path.join(services, 'userSettings.pr'));
    else {
      const text = await readFile(shipped, 'utf8');
      const changed = text.replace('protocol: application/syndicate', `protocol: application/syndicate ${daemonOptions}`);
      if (changed === text) throw new Error('the shipped userSettings.pr no longer has the daemon spec this harness extends');
      await writeFile(path.join(services, 'userSettings.pr'), changed);
    }
    await symlink(path.resolve('bin/user-settings-daemon.js'), path.join(dir, 'usr/lib/synit/user-settings-daemon'));
    for (const [name, text] of Object.entries(scripts)) await writeFile(path.join(services, name), text);
    return new SettingsRoot(dir);
  }

  get settingsDir(): string {
    return path.join(this.dir, 'etc/syndicate/user-settings');
  }

  get socket(): string {
    return path.join(this.dir, 'run/syndicate/control.sock');
  }

  /** Runs syndicate-ctl against this root's bus. */
  ctl(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    return new Promise((resolve) => {
      const p = spawn(process.execPath, [CTL, '--root', this.dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '', err = '';
      p.stdout.on('data', (d) => (out += d));
      p.stderr.on('data', (d) => (err += d));
      p.on('exit', (code) => resolve({ code, out, err }));
    });
  }

  async remove(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}


/** SIGKILL to a daemon's process group (each daemon leads its own). */
function killGroup(pid: number): void {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

/** A bus process on a root, with a client whose `config` is the bus's config dataspace. */
export class Bus {
  /** Assertions seen in config through `follow`, by their text. */
  private readonly seen = new Map<string, number>();
  private readonly pids = new Set<number>();
  log = '';

  private constructor(readonly root: SettingsRoot, readonly proc: ChildProcess, readonly client: Client, readonly config: Ref) {}

  /** Starts the bus and waits until the daemon serves the settings folder. */
  static async start(root: SettingsRoot): Promise<Bus> {
    const proc = spawn(process.execPath, [SERVER, '--no-banner', '--root', root.dir, '-c', '/etc/syndicate/services'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let log = '';
    proc.stderr!.on('data', (d) => (log += d));
    let client: Client | null = null;
    try {
      await until(async () => {
        if (proc.exitCode !== null) throw new Error('bus exited: ' + log);
        client = await connectUnix(root.socket).catch(() => null);
        return client !== null;
      }, 'the control socket');
    } catch (e) {
      proc.kill('SIGKILL');
      throw e;
    }
    const bus = new Bus(root, proc, client!, client!.peer!);
    proc.stderr!.on('data', (d) => (bus.log += d));
    bus.log = log;
    bus.follow(P.rec('user-setting', P.discard()));
    bus.follow(P.rec('user-settings-folder', P.discard()));
    bus.follow(P.rec('user-settings-problem', P.discard(), P.discard()));
    await client!.turn((t) => t.observe(client!.peer!, P.rec('daemon-status', P.discard(), P.bind()), {
      added: (_t, [d]) => {
        const pid = peel((peel(d) as Dictionary<Ref>).get(sym('pid')) ?? false);
        if (typeof pid === 'number') bus.pids.add(pid);
      },
    }));
    await until(() => bus.has(Settings.folder(root.settingsDir)), 'user-settings-daemon to serve the folder');
    return bus;
  }

  /** Keeps `seen` up to date with the assertions matching `pattern`. */
  follow(pattern: Pattern): void {
    void this.client.turn((t) => t.observe(this.config, P.bind(pattern), {
      added: (_t, [v]) => void this.seen.set(showAssertion(v), (this.seen.get(showAssertion(v)) ?? 0) + 1),
      removed: (_t, [v]) => {
        const k = showAssertion(v);
        const n = (this.seen.get(k) ?? 0) - 1;
        if (n <= 0) this.seen.delete(k);
        else this.seen.set(k, n);
      },
    }));
  }

  /** True while `v` is asserted in config (among the followed patterns). */
  has(v: Assertion): boolean {
    return this.seen.has(showAssertion(v));
  }

  /** Every followed assertion with this label, as text. */
  all(label: string): string[] {
    return [...this.seen.keys()].filter((k) => k.startsWith(`<${label} `)).sort();
  }

  /** Asserts the RPC; resolves `done` or the error text once the daemon answers, then withdraws it. */
  rpc(action: SettingsAction): Promise<string> {
    return new Promise((resolve) => void this.client.turn((t) => {
      let h: number | undefined;
      const reply = t.ref({
        assert: (t, v) => {
          const x = peel(v);
          resolve(x === Settings.done ? 'done' : x instanceof Record ? String(peel(x.fields[0])) : showAssertion(v));
          t.retract(h);
        },
      });
      h = t.assert(this.config, Settings.command(action, reply));
    }));
  }

  /** Sends the fire-and-forget form. */
  async send(action: SettingsAction): Promise<void> {
    await this.client.turn((t) => t.message(this.config, Settings.command(action)));
  }

  /** The running daemon's pid (from `<daemon-status>`). */
  async daemonPid(): Promise<number> {
    let pid = 0;
    await until(() => [...this.pids].some((p) => alive(p) && ((pid = p), true)), 'a live user-settings-daemon');
    return pid;
  }

  /** SIGKILLs the bus; resolves once it and its daemons are gone. */
  async kill9(): Promise<void> {
    const pids = [...this.pids];
    this.proc.kill('SIGKILL');
    await new Promise((r) => (this.proc.exitCode !== null || this.proc.signalCode !== null ? r(null) : this.proc.once('exit', r)));
    // The daemons see their stdin close and exit by themselves.
    await until(() => pids.every((p) => !alive(p)), 'the daemons of the killed bus to exit');
    await this.client.closed;
  }

  /** Stops the bus cleanly (it stops its daemons first). */
  async stop(): Promise<void> {
    if (this.proc.exitCode !== null || this.proc.signalCode !== null) return;
    const pids = [...this.pids];
    this.proc.kill('SIGTERM');
    await new Promise((r) => this.proc.once('exit', r));
    for (const p of pids) if (alive(p)) killGroup(p);
  }

  /** SIGKILLs the running daemon's whole process group (the shell and the program); returns its pid. */
  async killDaemon(): Promise<number> {
    const pid = await this.daemonPid();
    killGroup(pid);
    this.pids.delete(pid);
    return pid;
  }
}

export { SettingsPattern };
