// Files that must survive a crash once acknowledged: written to a temp file in the same folder,
// fsynced, renamed over the target, and the folder fsynced, so a reader sees the old or the new
// content whole and a power cut after the promise resolves loses nothing.
import { createRequire } from 'node:module';
import path from 'node:path';
import { canonicalEncode, type Value } from '../preserves/index.ts';

// node:crypto and node:fs/promises are loaded when first used, not at start: loading them costs
// a short program some 5 ms of CPU each (syndicate-ctl status imports this file but writes nothing).
const nodeRequire = createRequire(import.meta.url);
let cryptoModule: typeof import('node:crypto') | undefined;
const crypto = () => (cryptoModule ??= nodeRequire('node:crypto') as typeof import('node:crypto'));
let fsModule: typeof import('node:fs/promises') | undefined;
const fsp = () => (fsModule ??= nodeRequire('node:fs/promises') as typeof import('node:fs/promises'));

/** Prefix and suffix of temp files, so a start can recognise and remove stale ones. */
const TEMP_PREFIX = '.';
const TEMP_SUFFIX = '.tmp';

/** True when `name` is a temp file left by `writeFileDurable`. */
export function isTempFile(name: string): boolean {
  return name.startsWith(TEMP_PREFIX) && name.includes(TEMP_SUFFIX);
}

/** fsyncs a folder so that a rename or unlink in it is on disk. */
export async function fsyncDir(dir: string): Promise<void> {
  const h = await fsp().open(dir, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}

/** Makes `dir` (and parents) with `mode`, and narrows it to `mode` if it already existed wider. Returns true if narrowed. */
export async function ensurePrivateDir(dir: string, mode = 0o700): Promise<boolean> {
  await fsp().mkdir(dir, { recursive: true, mode });
  const h = await fsp().open(dir, 'r');
  try {
    const st = await h.stat();
    if ((st.mode & 0o777 & ~mode) !== 0) {
      await fsp().chmod(dir, mode);
      return true;
    }
    return false;
  } finally {
    await h.close();
  }
}

/** Writes `data` to `file` atomically and durably (temp, fsync, rename, fsync folder) with `mode`. */
export async function writeFileDurable(file: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const dir = path.dirname(file);
  // A unique temp name: two writers of the same file never share a temp.
  const tmp = path.join(dir, `${TEMP_PREFIX}${path.basename(file)}${TEMP_SUFFIX}-${process.pid}-${crypto().randomBytes(4).toString('hex')}`);
  const h = await fsp().open(tmp, 'w', mode);
  try {
    await h.writeFile(data);
    await h.sync();
  } catch (e) {
    await h.close();
    await fsp().rm(tmp, { force: true });
    throw e;
  }
  await h.close();
  try {
    await fsp().rename(tmp, file);
  } catch (e) {
    await fsp().rm(tmp, { force: true });
    throw e;
  }
  await fsyncDir(dir);
}

/** Removes `file` durably (fsyncs its folder); a missing file is not an error. */
export async function removeFileDurable(file: string): Promise<void> {
  await fsp().rm(file, { force: true });
  await fsyncDir(path.dirname(file));
}

/** Removes temp files a crashed writer left in `dir`; returns their names. A missing folder has none. */
export async function removeStaleTemps(dir: string): Promise<string[]> {
  let names: string[];
  try {
    names = await fsp().readdir(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const stale = names.filter(isTempFile);
  await Promise.all(stale.map((n) => fsp().rm(path.join(dir, n), { force: true })));
  if (stale.length > 0) await fsyncDir(dir);
  return stale;
}

/** The file name that keeps `v`: lowercase hex SHA-1 of its canonical binary form, plus `.pr`. */
export function assertionFileName(v: Value<unknown>): string {
  return crypto().createHash('sha1').update(canonicalEncode(v)).digest('hex') + '.pr';
}
