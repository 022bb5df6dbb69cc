import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';

/** A file is a script when its name ends in `.pr` and does not start with `.` (spec §2.2). */
export function isScriptName(file: string): boolean {
  const base = path.basename(file);
  return base.endsWith('.pr') && !base.startsWith('.');
}

function byteOrder(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

/**
 * The scripts under a path, in load order: a file alone, or a directory scanned recursively,
 * entries sorted by name in byte order, depth-first, skipping hidden files and directories
 * (a hidden root too, as the reference does).
 * Throws if the path does not exist.
 */
export async function listScripts(root: string): Promise<string[]> {
  const top = await realpath(root);
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true });
    entries.sort((a, b) => byteOrder(a.name, b.name));
    for (const e of entries) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      let isDir = e.isDirectory();
      if (e.isSymbolicLink()) isDir = (await stat(full).catch(() => null))?.isDirectory() ?? false;
      if (isDir) await walk(full);
      else if (isScriptName(e.name)) out.push(full);
    }
  };
  const st = await stat(top);
  if (st.isDirectory()) {
    if (!path.basename(top).startsWith('.')) await walk(top);
  } else if (isScriptName(top)) {
    out.push(top);
  }
  return out;
}
