// cgroup v2 for daemons: every process a daemon starts, escapees that call setsid included,
// stays in the daemon's cgroup, so stopping it can end them all (`cgroup.kill`). The child
// joins its cgroup itself, as the first thing its `sh` does, before it execs (or runs) the
// daemon's program: no window in which the program could fork outside it, and the bus never
// moves (a move blocks the event loop on a kernel RCU grace period, ~5 ms when cold).
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Where the cgroup v2 hierarchy is mounted, or null (from /proc/self/mounts). */
export function cgroup2Mount(): string | null {
  let mounts: string;
  try {
    mounts = readFileSync('/proc/self/mounts', 'utf8');
  } catch {
    return null;
  }
  for (const line of mounts.split('\n')) {
    const f = line.split(' ');
    if (f[2] === 'cgroup2') return f[1].replace(/\\040/g, ' ');
  }
  return null;
}

/** The cgroup (path relative to the v2 mount) that process `pid` is in, or null. */
export function cgroupOf(pid: number | 'self'): string | null {
  try {
    const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n').find((l) => l.startsWith('0::'));
    return line === undefined ? null : line.slice(3);
  } catch {
    return null;
  }
}

/**
 * The parent cgroup of the daemons of the bus whose state folder is `stateDir`:
 * `<mount>/syndicate-<hash of the folder>`, the same path for every bus on that folder (so a
 * bus started after a killed one finds what it left). Null when cgroup v2 is absent or not
 * writable (not root): the daemons then run in process groups only.
 */
export function daemonCgroupRoot(stateDir: string): string | null {
  const dir = daemonCgroupPath(stateDir);
  if (dir === null) return null;
  const mount = path.dirname(dir);
  try {
    mkdirSync(dir, { recursive: true });
    // A cgroup we can create but not move processes into is no use; try with ourselves.
    const own = cgroupOf('self');
    if (own === null) return null;
    writeFileSync(path.join(dir, 'cgroup.procs'), String(process.pid));
    writeFileSync(path.join(mount, own, 'cgroup.procs'), String(process.pid));
    return dir;
  } catch {
    try { rmdirSync(dir); } catch { /* not ours to remove, or busy */ }
    return null;
  }
}

/** Where `daemonCgroupRoot(stateDir)` is (or would be), without making it; null without cgroup v2. */
export function daemonCgroupPath(stateDir: string): string | null {
  const mount = cgroup2Mount();
  if (mount === null) return null;
  const hash = createHash('sha256').update(path.resolve(stateDir)).digest('hex').slice(0, 12);
  return path.join(mount, `syndicate-${hash}`);
}

/** The start of the stderr line of a process that could not join its cgroup (then exit 126). */
export const JOIN_FAILED = 'cannot join cgroup';

/** A cgroup whose processes are one daemon process and everything it starts. */
export class Cgroup {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  /** Creates (or reuses) the cgroup `dir`; throws if that is not possible. */
  static create(dir: string): Cgroup {
    mkdirSync(dir, { recursive: true });
    return new Cgroup(dir);
  }

  /**
   * The file and arguments that run `file args` (as `execArgs` gives them) so that the process
   * joins this cgroup before anything of its program runs. A shell command (`shell`: args are
   * `-c SCRIPT …`) gets the join as a prefix of its script, in the same `sh`; any other program
   * runs through `/bin/sh -c 'join; exec "$@"'`, which keeps the pid, argv[0], every fd and the
   * environment (`sh` adds `PWD`: unset again when `envHasPwd` is false). A failed join prints
   * `JOIN_FAILED` and the cgroup on stderr and exits 126 without running the program.
   */
  joinArgs(file: string, args: readonly string[], shell: boolean, envHasPwd = true): [string, string[]] {
    const join = `echo $$ >${shellQuote(path.join(this.dir, 'cgroup.procs'))} || { echo ${shellQuote(`${JOIN_FAILED} ${this.dir}`)} >&2; exit 126; }; `;
    if (shell && args[0] === '-c' && args.length >= 2) return [file, ['-c', join + args[1], ...args.slice(2)]];
    return ['/bin/sh', ['-c', `${join}${envHasPwd ? '' : 'unset PWD; '}exec "$@"`, 'sh', file, ...args]];
  }
  /** Live (non-zombie) pids in the cgroup and its children. */
  async members(): Promise<number[]> {
    return liveCgroupMembers(this.dir);
  }

  /** Sends `signal` to every member; returns how many there were. */
  async signal(signal: NodeJS.Signals): Promise<number> {
    const pids = await this.members();
    for (const pid of pids) {
      if (pid === process.pid) continue;
      try { process.kill(pid, signal); } catch { /* gone meanwhile */ }
    }
    return pids.length;
  }

  /** Kills every process in the cgroup at once (`cgroup.kill`, or SIGKILL to each member). */
  async kill(): Promise<void> {
    await killCgroup(this.dir);
  }

  /** Removes the cgroup once empty (and its parent, the daemon's folder, when that is empty too). */
  async remove(): Promise<void> {
    await removeCgroupTree(this.dir);
    await rmdir(path.dirname(this.dir)).catch(() => {});
  }
}

/** `s` as one word for `sh`. */
function shellQuote(s: string): string {
  return "'" + s.replace(/'/g, "'\\''") + "'";
}

/** Live pids of cgroup `dir` and every cgroup under it. */
export async function liveCgroupMembers(dir: string): Promise<number[]> {
  const out: number[] = [];
  const visit = async (d: string): Promise<void> => {
    const text = await readFile(path.join(d, 'cgroup.procs'), 'utf8').catch(() => '');
    for (const s of text.split('\n')) {
      const pid = Number(s);
      if (s === '' || !Number.isInteger(pid)) continue;
      const stat = await readFile(`/proc/${pid}/stat`, 'latin1').catch(() => null);
      if (stat === null) continue;
      const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
      if (state !== 'Z' && state !== 'X') out.push(pid);
    }
    for (const child of await subCgroups(d)) await visit(child);
  };
  await visit(dir);
  return out.sort((a, b) => a - b);
}

/** Kills everything in cgroup `dir` (and below); refuses if the bus itself is in it. */
export async function killCgroup(dir: string): Promise<void> {
  const members = await liveCgroupMembers(dir);
  if (members.includes(process.pid)) throw new Error(`refusing to kill cgroup ${dir}: the bus itself is in it`);
  if (members.length === 0) return;
  try {
    await writeFile(path.join(dir, 'cgroup.kill'), '1');
    return;
  } catch {
    // Kernels before 5.14 have no cgroup.kill: SIGKILL each member.
  }
  for (const pid of members) {
    try { process.kill(pid, 'SIGKILL'); } catch { /* gone */ }
  }
}

/** Resolves true once cgroup `dir` has no live member, false after `timeoutMs`. */
export async function waitCgroupEmpty(dir: string, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let pause = 2;
  for (;;) {
    if ((await liveCgroupMembers(dir)).length === 0) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((r) => setTimeout(r, Math.min(pause, left)));
    pause = Math.min(pause * 2, 50);
  }
}

/** Removes cgroup `dir` and the cgroups under it, deepest first; busy or missing ones are left. */
export async function removeCgroupTree(dir: string): Promise<void> {
  for (const child of await subCgroups(dir)) await removeCgroupTree(child);
  await rmdir(dir).catch(() => {});
}

async function subCgroups(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isDirectory()).map((e) => path.join(dir, e.name));
}
