// The settings folder on disk: one durable file per setting, changes to one file applied in the
// order they were asked for, and files that are not settings set aside (renamed NAME.rejected,
// which the config watcher does not load) and reported.
import { watch, type FSWatcher } from 'node:fs';
import { chmod, open, readFile, readdir, rename, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Assertion } from '../bus/index.ts';
import { ensurePrivateDir, fsyncDir, isTempFile, removeFileDurable, removeStaleTemps, writeFileDurable } from '../config-lang/durable-file.ts';
import { readSettingText, settingFileName, settingFileText } from './setting-file.ts';

/** The suffix a file that is not a setting gets when it is set aside. */
export const REJECTED_SUFFIX = '.rejected';
/** How long a changed entry must stay unchanged before it is checked. */
const QUIET_MS = 100;
/** Settings files hold credentials: owner only. */
export const SETTING_FILE_MODE = 0o600;

/** A file in the settings folder that is not published, and why. */
export interface SettingsProblem {
  /** Where the file is now (`NAME.pr.rejected`). */
  readonly file: string;
  readonly message: string;
}

/** What the store tells its owner as it finds things. */
export interface SettingsStoreEvents {
  /** A file was set aside (or found set aside at start). */
  problem(p: SettingsProblem): void;
  /** A set-aside file is gone (the operator removed or fixed it). */
  problemGone(file: string): void;
  /** A remark for the log (stale temps removed, a folder narrowed, an I/O error while checking). */
  note(line: string): void;
}

/** One settings folder. `open()` before anything else; `close()` stops watching. */
export class SettingsStore {
  private readonly chains = new Map<string, Promise<void>>();
  private readonly soon = new Map<string, NodeJS.Timeout>();
  private watcher: FSWatcher | null = null;
  private closed = false;

  constructor(readonly dir: string, private readonly events: SettingsStoreEvents) {}

  /** Makes the folder private (0700), removes stale temps, sets aside what is not a setting, starts watching. */
  async open(): Promise<void> {
    if (await ensurePrivateDir(this.dir)) this.events.note(`${this.dir}: narrowed the folder's mode to 0700`);
    const stale = await removeStaleTemps(this.dir);
    if (stale.length > 0) this.events.note(`${this.dir}: removed ${stale.length} stale temp file(s) of an interrupted write`);
    if (this.closed) return;
    // Watch before the scan so that nothing placed meanwhile escapes the check.
    this.watcher = watch(this.dir, (_event, name) => {
      if (typeof name === 'string') this.checkSoon(name);
    });
    this.watcher.on('error', (e) => this.events.note(`${this.dir}: watching stopped: ${e.message}`));
    await Promise.all((await readdir(this.dir)).map((n) => this.check(n)));
  }

  /** Stops watching; operations already asked for still complete. */
  close(): void {
    this.closed = true;
    for (const timer of this.soon.values()) clearTimeout(timer);
    this.soon.clear();
    this.watcher?.close();
    this.watcher = null;
  }

  /** The path of the file that keeps `item`. */
  fileOf(item: Assertion): string {
    return path.join(this.dir, settingFileName(item));
  }

  /** Keeps `item`: resolves once its file is on disk (a file already holding it is only synced). */
  set(item: Assertion): Promise<void> {
    const name = settingFileName(item);
    const file = path.join(this.dir, name);
    const text = settingFileText(item);
    return this.serial(name, async () => {
      if (await holds(file, text)) {
        await syncFile(file);
        await fsyncDir(this.dir);
        return;
      }
      await writeFileDurable(file, text, SETTING_FILE_MODE);
    });
  }

  /** Drops `item`: resolves once its file is gone on disk (already gone is fine). */
  unset(item: Assertion): Promise<void> {
    const name = settingFileName(item);
    return this.serial(name, () => removeFileDurable(path.join(this.dir, name)));
  }

  /**
   * Checks an entry once it has been quiet for a moment: a file written in place by hand (an
   * editor, `echo >`) is seen empty or half-written first, and must not be set aside for that.
   */
  private checkSoon(name: string): void {
    clearTimeout(this.soon.get(name));
    this.soon.set(name, setTimeout(() => {
      this.soon.delete(name);
      if (!this.closed) void this.check(name);
    }, QUIET_MS));
  }

  /** Checks one entry of the folder: a `.pr` file that is not a setting is set aside; a set-aside file is (re)reported. */
  private async check(name: string): Promise<void> {
    if (isTempFile(name) || name.startsWith('.')) return;
    const rejected = name.endsWith(REJECTED_SUFFIX);
    if (!rejected && !name.endsWith('.pr')) return;
    try {
      await this.serial(name, () => (rejected ? this.checkRejected(name) : this.checkSetting(name)));
    } catch (e) {
      this.events.note(`${path.join(this.dir, name)}: cannot check: ${(e as Error).message}`);
    }
  }

  private async checkSetting(name: string): Promise<void> {
    const file = path.join(this.dir, name);
    const text = await readText(file);
    if (text === null) return;
    const r = readSettingText(text, file, name);
    if (r.ok) {
      // Placed by hand with a looser mode: settings may hold credentials.
      const mode = (await stat(file)).mode & 0o777;
      if ((mode & ~SETTING_FILE_MODE) !== 0) {
        await chmod(file, SETTING_FILE_MODE);
        this.events.note(`${file}: narrowed the file's mode to 0600`);
      }
      return;
    }
    const aside = file + REJECTED_SUFFIX;
    await rename(file, aside);
    await fsyncDir(this.dir);
    this.events.problem({ file: aside, message: `${r.problem}; set aside as ${path.basename(aside)}` });
  }

  private async checkRejected(name: string): Promise<void> {
    const file = path.join(this.dir, name);
    const text = await readText(file);
    if (text === null) {
      this.events.problemGone(file);
      return;
    }
    const original = name.slice(0, -REJECTED_SUFFIX.length);
    const r = readSettingText(text, path.join(this.dir, original), original);
    this.events.problem({ file, message: r.ok ? `${file}: set aside earlier; holds a valid setting: rename it to ${original} to publish it` : `${r.problem}; set aside as ${name}` });
  }

  /** Runs `op` after every earlier operation on the same file name has finished. */
  private serial(name: string, op: () => Promise<void>): Promise<void> {
    const run = (this.chains.get(name) ?? Promise.resolve()).then(op);
    const tail = run.catch(() => undefined); // the caller gets the error; the chain goes on
    this.chains.set(name, tail);
    void tail.then(() => {
      if (this.chains.get(name) === tail) this.chains.delete(name);
    });
    return run;
  }
}

/** True when `file` exists with exactly `text` and the settings mode. */
async function holds(file: string, text: string): Promise<boolean> {
  try {
    const st = await stat(file);
    if ((st.mode & 0o777) !== SETTING_FILE_MODE) return false;
    return (await readFile(file, 'utf8')) === text;
  } catch {
    return false;
  }
}

/** The file's text, or null when it is gone. */
async function readText(file: string): Promise<string | null> {
  try {
    return await readFile(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

async function syncFile(file: string): Promise<void> {
  const h = await open(file, 'r');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
