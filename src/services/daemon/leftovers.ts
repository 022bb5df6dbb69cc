// What a killed bus leaves: its daemons keep running (re-parented to PID 1). A bus starting on
// the same state folder stops them before it starts anything, so there is never a second copy.
// Two records are kept per process while it runs: a pid file (`STATE/pids/NAME.N`: pid, start
// time, pgid, cgroup), checked against /proc so a reused pid is never touched, and, where
// cgroup v2 is writable, the process's cgroup under the state folder's parent cgroup, which
// also holds what escaped its process group with setsid.
import { readFileSync, writeFileSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { daemonCgroupPath, killCgroup, liveCgroupMembers, removeCgroupTree, waitCgroupEmpty } from './cgroup.ts';
import { processStartTime } from './daemon-process.ts';
import { groupMembers, signalGroup, waitGroupGone } from './process-group.ts';

/** The folder of pid files under a state folder. */
export function leftoverPidDir(stateDir: string): string {
  return path.join(stateDir, 'pids');
}

/** The file in the pid folder naming the bus that owns it: `PID STARTTIME`. */
export const BUS_PID_FILE = 'bus';

/** Records the running bus as the owner of `stateDir`'s pid files (called by the daemon service). */
export function claimPidDir(pidDir: string): void {
  const stat = readFileSync('/proc/self/stat', 'latin1');
  const start = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  writeFileSync(path.join(pidDir, BUS_PID_FILE), `${process.pid} ${start}\n`, { mode: 0o600 });
}

/** What `recoverLeftovers` found and stopped. */
export interface LeftoverReport {
  /** A bus that still runs on this state folder (its pid): then nothing was touched. */
  readonly liveBus: number | null;
  /** Live processes found (group members by pid file, and cgroup members, escapees included). */
  readonly processes: number;
  /** The names (log folder names) of the daemons they belonged to. */
  readonly daemons: readonly string[];
}

/**
 * Stops every process a previous bus on `stateDir` left running: SIGTERM (and SIGCONT) to each,
 * up to `graceMs` (default 5 s), then SIGKILL (`cgroup.kill` for cgroups); removes the pid
 * files and the cgroups. Resolves once none is left alive (or after the kill wait).
 */
export async function recoverLeftovers(stateDir: string, graceMs = 5000): Promise<LeftoverReport> {
  const pidDir = leftoverPidDir(stateDir);
  // The daemons of a bus that is alive are not leftovers: never touch them.
  const owner = (await readFile(path.join(pidDir, BUS_PID_FILE), 'utf8').catch(() => '')).trim().split(' ');
  const ownerPid = Number(owner[0]);
  if (Number.isInteger(ownerPid) && ownerPid > 0 && ownerPid !== process.pid && (await processStartTime(ownerPid)) === owner[1]) {
    return { liveBus: ownerPid, processes: 0, daemons: [] };
  }
  const names = (await readdir(pidDir).catch(() => [] as string[])).filter((n) => n !== BUS_PID_FILE);
  const groups: number[] = [];
  const daemons = new Set<string>();
  for (const name of names) {
    const file = path.join(pidDir, name);
    const text = await readFile(file, 'utf8').catch(() => '');
    const [pidText, start] = text.trim().split(' ');
    const pid = Number(pidText);
    if (Number.isInteger(pid) && pid > 1 && pid !== process.pid && (await isOurs(pid, start))) {
      groups.push(pid);
      daemons.add(name.replace(/\.[^.]*$/, ''));
    }
    await rm(file, { force: true });
  }
  const cgroupRoot = daemonCgroupPath(stateDir);
  const cgroupPids = cgroupRoot !== null ? (await liveCgroupMembers(cgroupRoot)).filter((p) => p !== process.pid) : [];
  if (cgroupRoot !== null && cgroupPids.length > 0) {
    for (const d of await readdir(cgroupRoot, { withFileTypes: true }).catch(() => [])) {
      if (d.isDirectory() && (await liveCgroupMembers(path.join(cgroupRoot, d.name))).length > 0) daemons.add(d.name);
    }
  }
  const all = new Set(cgroupPids);
  for (const g of groups) for (const p of await groupMembers(g)) all.add(p);
  if (all.size > 0) {
    const signal = (sig: NodeJS.Signals): void => {
      for (const g of groups) signalGroup(g, sig);
      for (const p of cgroupPids) {
        try { process.kill(p, sig); } catch { /* gone */ }
      }
    };
    signal('SIGTERM');
    signal('SIGCONT');
    if (!(await allGone(groups, cgroupRoot, graceMs))) {
      for (const g of groups) signalGroup(g, 'SIGKILL');
      if (cgroupRoot !== null) await killCgroup(cgroupRoot).catch(() => {});
      await allGone(groups, cgroupRoot, 5000);
    }
  }
  if (cgroupRoot !== null) {
    // Keep the root (the new bus uses it); remove what the old one made under it.
    for (const d of await readdir(cgroupRoot, { withFileTypes: true }).catch(() => [])) {
      if (d.isDirectory()) await removeCgroupTree(path.join(cgroupRoot, d.name));
    }
  }
  return { liveBus: null, processes: all.size, daemons: [...daemons].sort() };
}

/**
 * True when pid `pid` (a group leader we started at clock tick `start`) or its group is still
 * ours: the leader with that very start time, or — the leader gone — live members of its group
 * (Linux does not reuse a pid while a process group of that id exists).
 */
async function isOurs(pid: number, start: string | undefined): Promise<boolean> {
  const now = await processStartTime(pid);
  if (now !== null) return now === start;
  return (await groupMembers(pid)).length > 0;
}

async function allGone(groups: readonly number[], cgroupRoot: string | null, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (const g of groups) if (!(await waitGroupGone(g, Math.max(0, deadline - Date.now())))) return false;
  return cgroupRoot === null || waitCgroupEmpty(cgroupRoot, Math.max(0, deadline - Date.now()));
}
