// The OS side of "stop = the whole process group": signalling a group and finding out whether
// any live process is still in it. Linux has no event for "group became empty", so waiting
// polls; the fast path is a single kill(-pgid, 0).
import { readdir, readFile } from 'node:fs/promises';

/** Sends `signal` to every process in group `pgid`; false if the group no longer exists. */
export function signalGroup(pgid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ESRCH') return false;
    throw e;
  }
}

/**
 * The pids of live (non-zombie) processes in group `pgid`. Zombies are skipped because an init
 * that does not reap (as in some containers) would otherwise make a killed group look alive
 * forever. Without /proc, falls back to kill(-pgid, 0) and reports the group id itself.
 */
export async function groupMembers(pgid: number): Promise<number[]> {
  if (!signalGroup(pgid, 0)) return [];
  let entries: string[];
  try {
    entries = await readdir('/proc');
  } catch {
    return [pgid];
  }
  const members: number[] = [];
  await Promise.all(entries.map(async (name) => {
    if (!/^[0-9]+$/.test(name)) return;
    let stat: string;
    try {
      stat = await readFile(`/proc/${name}/stat`, 'latin1');
    } catch {
      return; // exited while we looked
    }
    // Fields after the parenthesised command name (which may itself contain spaces and parens).
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = rest[0];
    const group = Number(rest[2]);
    if (group === pgid && state !== 'Z' && state !== 'X') members.push(Number(name));
  }));
  return members.sort((a, b) => a - b);
}

/**
 * True while group `pgid` has a live member. Cheaper than `groupMembers` while the leader
 * itself lives (one kill and one small read instead of reading every /proc entry): stopping
 * 200 daemons at once polled 200 × every process's stat file, seconds of CPU (issue 15).
 */
export async function groupHasLiveMember(pgid: number): Promise<boolean> {
  if (!signalGroup(pgid, 0)) return false;
  const stat = await readFile(`/proc/${pgid}/stat`, 'latin1').catch(() => null);
  if (stat !== null) {
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ', 3);
    if (rest[0] !== 'Z' && rest[0] !== 'X' && Number(rest[2]) === pgid) return true;
  }
  return (await groupMembers(pgid)).length > 0;
}

/**
 * Resolves true once no live process is left in group `pgid`, or false after `timeoutMs`.
 * Polls with a short, growing interval: a group usually dies within milliseconds of a signal.
 */
export async function waitGroupGone(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  let pause = 2;
  for (;;) {
    if (!(await groupHasLiveMember(pgid))) return true;
    const left = deadline - Date.now();
    if (left <= 0) return false;
    await new Promise((r) => setTimeout(r, Math.min(pause, left)));
    pause = Math.min(pause * 2, 50);
  }
}

/** TERM (and CONT, so stopped members see it), up to `graceMs`, then KILL: resolves when empty. */
export async function terminateGroup(pgid: number, graceMs: number, killWaitMs = 5000): Promise<boolean> {
  if (!signalGroup(pgid, 'SIGTERM')) return true;
  signalGroup(pgid, 'SIGCONT');
  if (await waitGroupGone(pgid, graceMs)) return true;
  signalGroup(pgid, 'SIGKILL');
  return waitGroupGone(pgid, killWaitMs);
}
