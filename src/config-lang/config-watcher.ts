// The config watcher (spec §2): loads every script under a path in one turn, then follows
// changes with chokidar. A changed file's new version starts before the old one stops, in one
// turn, so assertions present in both never flicker. The root itself may be removed, moved back
// or swapped by rename: chokidar loses such a root, so the root's identity (dev+ino) is checked
// on a timer and its parent folder watched, and any change rescans the whole tree.
import { statSync, watch as fsWatch, type FSWatcher as ParentWatcher } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { log, type Facet, type Turn } from '../bus/index.ts';
import type { Environment } from './environment.ts';
import { startScript } from './evaluator.ts';
import type { ScriptRuntimeError } from './runtime-error.ts';
import { ScriptError } from './script-error.ts';
import { isScriptName, listScripts } from './script-files.ts';
import { type LoadedScript, loadScriptFile, loadScriptFileSync, scriptDir } from './script-file.ts';

/**
 * Quiet time before file events are applied, so that a rename (unlink + add) lands in one turn.
 * The reference waits 100 ms; chokidar's write-finish check already waits for saves to settle.
 */
const DEBOUNCE_MS = 5;

/** When to look again at files just loaded, in case a later write raised no event. */
const RECHECK_MS = 150;

/** How often the root's identity is checked (a missing root is looked for as often). */
const ROOT_CHECK_MS = 400;

/** How a watcher reports what goes wrong in scripts (default: the bus log hook). */
export type ErrorReporter = (message: string, level?: 'error' | 'warn') => void;

/** Options of a config watcher. */
export interface ConfigWatcherOptions {
  /** Called in the turn of the initial scan, after every script has started. */
  onReady?: (t: Turn) => void;
  /** Called in the turn that applied a batch of changed paths (after the initial scan). */
  onApplied?: (t: Turn, paths: readonly string[]) => void;
  /** Receives each error line (`path:line:column: message`). */
  report?: ErrorReporter;
  /** Quiet time before a burst of file events is applied (ms). */
  debounceMs?: number;
  /** Watch for changes after the initial scan (default true). */
  watch?: boolean;
}

/** A load that threw (a parser bug, a stack overflow) is an error of that file, not of the watcher. */
function guardedLoad(file: string, load: () => LoadedScript): LoadedScript {
  try {
    return load();
  } catch (e) {
    return { kind: 'syntax-error', path: file, errors: [new ScriptError(`cannot load: ${(e as Error).message ?? String(e)}`, null)] };
  }
}

async function guardedLoadAsync(file: string): Promise<LoadedScript> {
  try {
    return await loadScriptFile(file);
  } catch (e) {
    return guardedLoad(file, () => { throw e; });
  }
}

/** What the root path names now: its real path and identity, or null when it is gone. */
interface RootState {
  readonly top: string;
  readonly id: string;
  readonly isDir: boolean;
}

async function resolveRoot(root: string): Promise<RootState | null> {
  try {
    const top = await realpath(root);
    const st = await stat(top);
    return { top, id: st.dev + ':' + st.ino, isDir: st.isDirectory() };
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

/** The identity of what `root` names now ('' = nothing), without resolving the whole path twice. */
function rootIdentity(root: string): string {
  try {
    const st = statSync(root);
    return st.dev + ':' + st.ino;
  } catch {
    return '';
  }
}

/**
 * Starts a config watcher in the active facet: it lives, and its scripts run, as long as that
 * facet does. A root that cannot be read (other than missing) ends the facet's actor (the
 * supervisor restarts it); a script that cannot be read or parsed costs only that script.
 */
export function startConfigWatcher(t: Turn, root: string, env: Environment, options: ConfigWatcherOptions = {}): void {
  const facet = t.activeFacet;
  const report = options.report ?? ((m: string, level: 'error' | 'warn' = 'error') => log({ level, actor: t.actor.name, message: m }));
  const scripts = new Map<string, Facet>();
  let watcher: FSWatcher | null = null;
  let parentWatcher: ParentWatcher | null = null;
  let rootTimer: NodeJS.Timeout | null = null;
  let closed = false;
  const closeWatchers = (): void => {
    const w = watcher;
    watcher = null;
    if (w !== null) void w.close().catch(() => {});
    parentWatcher?.close();
    parentWatcher = null;
  };
  t.onRelease(() => {
    closed = true;
    if (rootTimer !== null) clearInterval(rootTimer);
    closeWatchers();
  });
  // Like the reference's linked watcher task: the watcher facet lives until stopped, even with
  // no script running.
  t.preventInertCheck();

  const reportScript = (loaded: LoadedScript): void => {
    if (loaded.kind === 'ok') return;
    for (const e of loaded.errors) report(e.pos ? e.message : `${loaded.path}: ${e.message}`);
    if (loaded.kind === 'syntax-error') report(`${loaded.path}: not loaded; the previous version, if any, stays in force`);
  };
  const runtimeReport = (e: ScriptRuntimeError, p: string) => report(e.pos ? e.message : `${p}: ${e.message}`);

  /** Starts one script; anything it throws beyond a script error stops it alone. */
  const start = (t: Turn, file: string, loaded: LoadedScript & { kind: 'ok' }): Facet => t.facet((t) => {
    try {
      startScript(t, loaded.instructions, env, { path: file, scriptDir: scriptDir(file), report: runtimeReport });
    } catch (e) {
      report(`${file}: not started: ${(e as Error).message ?? String(e)}`);
      t.stop(t.activeFacet);
    }
  });

  /**
   * A load that failed because the file went away between listing and reading (a program set it
   * aside) is a removal: kept as a syntax error, the old version would stay in force with no
   * later event to undo it.
   */
  const unlessGone = (file: string, loaded: LoadedScript): LoadedScript | undefined =>
    loaded.kind !== 'ok' && signature(file) === '' ? undefined : loaded;

  /** Applies fresh loads (undefined = file gone) in one turn: new versions first, old ones after. */
  const apply = (t: Turn, loads: [string, LoadedScript | undefined][]): void => {
    const retire: Facet[] = [];
    for (const [file, loaded] of loads) {
      if (loaded !== undefined) reportScript(loaded);
      if (loaded?.kind === 'syntax-error' && scripts.has(file)) continue;
      const old = scripts.get(file);
      scripts.delete(file);
      if (old !== undefined) retire.push(old);
      if (loaded?.kind === 'ok') {
        const f = start(t, file, loaded);
        if (f.isLive) scripts.set(file, f);
      }
    }
    for (const f of retire) t.stop(f);
  };

  /** mtime and size of each file when last loaded ('' = absent). */
  const seen = new Map<string, string>();
  const signature = (p: string): string => {
    try {
      const st = statSync(p);
      return st.mtimeMs + ':' + st.size;
    } catch {
      return '';
    }
  };

  /** The tree being followed (null: the root is missing, watched for). */
  let current: RootState | null = null;
  let announced = false;
  const announceReady = (t: Turn): void => {
    if (announced) return;
    announced = true;
    options.onReady?.(t);
  };

  /**
   * Makes the running set match the tree the root names now. On a new tree (first scan, a
   * swap, a return) every file is loaded afresh and chokidar follows the new tree; otherwise
   * only files whose size or mtime moved. Files no longer there stop. One turn for all of it.
   */
  const rescan = async (force: boolean): Promise<void> => {
    const now = await resolveRoot(root);
    if (closed) return;
    // `force`: the root itself was renamed or removed, maybe back again already: chokidar may
    // have lost it even though the identity is unchanged.
    const fresh = force || now === null || current === null || now.id !== current.id || now.top !== current.top;
    if (fresh) {
      closeWatchers();
      seen.clear();
    }
    const was = current;
    current = now;
    if (now === null) {
      if (was !== null || !announced) report(`${root}: does not exist${was !== null ? ' any more; its scripts stopped' : ' (yet)'}; watching for it`, 'warn');
      const loads = [...scripts.keys()].map((f): [string, undefined] => [f, undefined]);
      if (options.watch !== false) watchParent();
      facet.turn((t) => {
        apply(t, loads);
        announceReady(t);
      });
      return;
    }
    if (was === null && announced) report(`${root}: found again; loading it`, 'warn');
    else if (was !== null && (now.id !== was.id || now.top !== was.top)) report(`${root}: replaced by another tree; reloading`, 'warn');
    // chokidar's own scan is slow on big trees, so it runs alongside ours; once it is ready,
    // anything that changed in between is found by comparing file signatures.
    const w = fresh && options.watch !== false ? (watcher = startWatching(now.top, now.isDir)) : null;
    // Listened for at once: on a small tree chokidar can be ready before our own scan is done,
    // and a file removed while it scanned raises no event, so this comparison must not be missed.
    const ready = w === null ? null : new Promise<void>((resolve) => w.once('ready', () => resolve()));
    if (fresh && options.watch !== false) watchParent();
    let files: string[];
    try {
      files = await listScripts(now.top);
    } catch (e) {
      // Unreadable at the first scan: the actor fails and the supervisor retries. Later, the
      // running set stays as it is (a root that vanished meanwhile is seen on the next check).
      if (was === null && !announced) throw e;
      report(`${root}: cannot list: ${(e as Error).message}; keeping what runs`);
      return;
    }
    if (closed) return;
    const listed = new Set(files);
    const loads: [string, LoadedScript | undefined][] = [];
    for (const f of files) {
      const sig = signature(f);
      if (!fresh && seen.get(f) === sig) continue;
      seen.set(f, sig);
      loads.push([f, unlessGone(f, guardedLoad(f, () => loadScriptFileSync(f)))]);
    }
    for (const f of scripts.keys()) if (!listed.has(f)) loads.push([f, undefined]);
    for (const f of seen.keys()) if (!listed.has(f)) seen.delete(f);
    facet.turn((t) => {
      apply(t, loads);
      if (was !== null || announced) options.onApplied?.(t, loads.map(([f]) => f));
      announceReady(t);
    });
    // Not awaited: a chokidar that never gets ready (its root gone meanwhile) must not hold up
    // the next rescan.
    void ready?.then(() => {
      if (closed || watcher !== w) return;
      void listScripts(now.top).catch((): string[] => []).then((later) => {
        if (closed || watcher !== w) return;
        for (const f of new Set([...later, ...files])) if (signature(f) !== seen.get(f)) changed(f);
      });
    });
  };

  // Rescans never overlap: a request during one runs once more after it.
  let scanning: Promise<void> | null = null;
  let again: boolean | null = null;
  const requestRescan = (force = false): void => {
    if (closed) return;
    if (scanning !== null) {
      again = (again ?? false) || force;
      return;
    }
    scanning = rescan(force)
      .catch((e: unknown) => {
        report(`${root}: ${(e as Error).message}`);
        facet.turn(() => {
          throw new Error(`config watcher cannot read ${root}: ${(e as Error).message}`);
        });
      })
      .finally(() => {
        scanning = null;
        const next = again;
        again = null;
        if (next !== null && !closed) requestRescan(next);
      });
  };

  /** The root's parent folder: a rename or removal of the root shows there at once. */
  const watchParent = (): void => {
    parentWatcher?.close();
    parentWatcher = null;
    const name = path.basename(root);
    try {
      parentWatcher = fsWatch(path.dirname(root), { persistent: false }, (_event, file) => {
        if (file === null || String(file) === name) requestRescan(true);
      });
      parentWatcher.on('error', () => {
        parentWatcher?.close();
        parentWatcher = null;
      });
    } catch {
      // No parent (yet): the timer still looks.
    }
  };

  let pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  // Batches apply one after another: a slow load of a file's older state must not land after
  // a later batch saw the file gone (nothing would look at it again).
  let flushing: Promise<void> = Promise.resolve();
  const flush = async (paths: readonly string[]): Promise<void> => {
    const loads = await Promise.all(paths.map(async (p): Promise<[string, LoadedScript | undefined]> => {
      const st = await stat(p).catch(() => null);
      seen.set(p, st === null ? '' : st.mtimeMs + ':' + st.size);
      return [p, st?.isFile() && isScriptName(p) ? unlessGone(p, await guardedLoadAsync(p)) : undefined];
    }));
    recheck(paths);
    if (!closed) {
      facet.turn((t) => {
        apply(t, loads);
        options.onApplied?.(t, paths);
      });
    }
  };
  // chokidar can swallow a write that follows another within its throttle window; a second
  // look at each changed file shortly after catches those.
  const recheck = (paths: readonly string[]): void => {
    const t = setTimeout(() => {
      for (const p of paths) {
        void stat(p).then((st) => st.mtimeMs + ':' + st.size, () => '').then((now) => {
          if (!closed && now !== seen.get(p)) changed(p);
        });
      }
    }, RECHECK_MS);
    t.unref();
  };
  const changed = (p: string): void => {
    if (!isScriptName(p) || closed) return;
    pending.add(p);
    if (timer === null) {
      timer = setTimeout(() => {
        timer = null;
        const paths = [...pending].sort();
        pending = new Set();
        flushing = flushing.then(() => flush(paths)).catch((e: unknown) => report(`${root}: reload failed: ${(e as Error).message}`));
      }, options.debounceMs ?? DEBOUNCE_MS);
    }
  };

  const startWatching = (top: string, isDir: boolean): FSWatcher => {
    const w = watch(top, {
      ignoreInitial: true,
      // Hidden files and folders below the root are not configuration (spec §2.2).
      ignored: (p: string) => path.relative(top, p).split(path.sep).some((s) => s.startsWith('.')),
      depth: isDir ? undefined : 0,
      // Without this chokidar drops a second write that follows the first within ~50 ms, and a
      // quick save seen between truncate and write would load an empty file (a slower one still
      // can: only a rename is one step; see the README).
      awaitWriteFinish: { stabilityThreshold: 10, pollInterval: 5 },
    });
    const mine = (f: (p: string) => void) => (p: string) => {
      if (watcher === w) f(p);
    };
    w.on('add', mine(changed)).on('change', mine(changed)).on('unlink', mine(changed));
    w.on('unlinkDir', mine((dir: string) => {
      if (dir === top) requestRescan(true);
      for (const f of scripts.keys()) if (f.startsWith(dir + path.sep)) changed(f);
    }));
    w.on('error', (e: unknown) => {
      if (watcher === w) report(`${top}: watch error: ${(e as Error).message}`);
    });
    return w;
  };

  requestRescan();
  if (options.watch !== false) {
    // Cheap: one stat per tick. Catches what the parent watch cannot see (an ancestor renamed).
    rootTimer = setInterval(() => {
      if (scanning !== null) return;
      const id = rootIdentity(root);
      if (id !== (current?.id ?? '')) requestRescan();
    }, ROOT_CHECK_MS);
    rootTimer.unref();
  }
}
