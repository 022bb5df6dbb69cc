// The config watcher (spec §2): loads every script under a path in one turn, then follows
// changes with chokidar. A changed file's new version starts before the old one stops, in one
// turn, so assertions present in both never flicker.
import { statSync } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import { log, type Facet, type Turn } from '../bus/index.ts';
import type { Environment } from './environment.ts';
import { startScript } from './evaluator.ts';
import type { ScriptRuntimeError } from './runtime-error.ts';
import { isScriptName, listScripts } from './script-files.ts';
import { type LoadedScript, loadScriptFile, loadScriptFileSync, scriptDir } from './script-file.ts';

/**
 * Quiet time before file events are applied, so that a rename (unlink + add) lands in one turn.
 * The reference waits 100 ms; chokidar's write-finish check already waits for saves to settle.
 */
const DEBOUNCE_MS = 5;

/** When to look again at files just loaded, in case a later write raised no event. */
const RECHECK_MS = 150;

/** How often a missing config path is looked for. */
const MISSING_POLL_MS = 1000;

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

/**
 * Starts a config watcher in the active facet: it lives, and its scripts run, as long as that
 * facet does. Errors in finding the path end the facet's actor (the supervisor restarts it).
 */
export function startConfigWatcher(t: Turn, root: string, env: Environment, options: ConfigWatcherOptions = {}): void {
  const facet = t.activeFacet;
  const report = options.report ?? ((m: string, level: 'error' | 'warn' = 'error') => log({ level, actor: t.actor.name, message: m }));
  const scripts = new Map<string, Facet>();
  let watcher: FSWatcher | null = null;
  let closed = false;
  t.onRelease(() => {
    closed = true;
    void watcher?.close();
  });
  // Like the reference's linked watcher task: the watcher facet lives until stopped, even with
  // no script running.
  t.preventInertCheck();

  let onReady: (t: Turn) => void = () => {};
  const reportScript = (loaded: LoadedScript): void => {
    if (loaded.kind === 'ok') return;
    for (const e of loaded.errors) report(e.pos ? e.message : `${loaded.path}: ${e.message}`);
    if (loaded.kind === 'syntax-error') report(`${loaded.path}: not loaded; the previous version, if any, stays in force`);
  };
  const runtimeReport = (e: ScriptRuntimeError, p: string) => report(e.pos ? e.message : `${p}: ${e.message}`);

  /** Applies fresh loads (undefined = file gone) in one turn: new versions first, old ones after. */
  const apply = (t: Turn, loads: [string, LoadedScript | undefined][]): void => {
    const retire: Facet[] = [];
    for (const [file, loaded] of loads) {
      if (loaded !== undefined) reportScript(loaded);
      if (loaded?.kind === 'syntax-error') continue;
      const old = scripts.get(file);
      scripts.delete(file);
      if (old !== undefined) retire.push(old);
      if (loaded?.kind === 'ok') {
        const f = startScript(t, loaded.instructions, env, { path: file, scriptDir: scriptDir(file), report: runtimeReport });
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

  const initial = async (): Promise<void> => {
    const top = await realpath(root);
    const isDir = (await stat(top)).isDirectory();
    if (closed) return; // the watcher's facet stopped while we were looking
    // chokidar's own scan is slow on big trees, so it runs alongside ours; once it is ready,
    // anything that changed in between is found by comparing file signatures.
    const w = options.watch === false ? null : (watcher = startWatching(top, isDir));
    const files = await listScripts(top);
    const loads = files.map((f): [string, LoadedScript] => {
      seen.set(f, signature(f));
      return [f, loadScriptFileSync(f)];
    });
    facet.turn((t) => {
      apply(t, loads);
      onReady(t);
    });
    if (w === null) return;
    await new Promise<void>((resolve) => w.once('ready', () => resolve()));
    if (closed) {
      void w.close(); // closed while chokidar was starting: close again now that it is ready
      return;
    }
    const now = new Set(await listScripts(top).catch(() => []));
    for (const f of new Set([...now, ...files])) if (signature(f) !== seen.get(f)) changed(f);
  };

  let pending = new Set<string>();
  let timer: NodeJS.Timeout | null = null;
  const flush = async (): Promise<void> => {
    timer = null;
    const paths = [...pending].sort();
    pending = new Set();
    const loads = await Promise.all(paths.map(async (p): Promise<[string, LoadedScript | undefined]> => {
      const st = await stat(p).catch(() => null);
      seen.set(p, st === null ? '' : st.mtimeMs + ':' + st.size);
      return [p, st?.isFile() && isScriptName(p) ? await loadScriptFile(p) : undefined];
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
    if (!isScriptName(p)) return;
    pending.add(p);
    if (timer === null) timer = setTimeout(() => void flush(), options.debounceMs ?? DEBOUNCE_MS);
  };

  const startWatching = (top: string, isDir: boolean): FSWatcher => {
    const w = watch(top, {
      ignoreInitial: true,
      // Hidden files and folders below the root are not configuration (spec §2.2).
      ignored: (p: string) => path.relative(top, p).split(path.sep).some((s) => s.startsWith('.')),
      depth: isDir ? undefined : 0,
      // Without this chokidar drops a second write that follows the first within ~50 ms, and a
      // save seen between truncate and write would load an empty file.
      awaitWriteFinish: { stabilityThreshold: 10, pollInterval: 5 },
    });
    w.on("add", changed).on('change', changed).on('unlink', changed);
    w.on('unlinkDir', (dir: string) => {
      for (const f of scripts.keys()) if (f.startsWith(dir + path.sep)) changed(f);
    });
    w.on('error', (e: unknown) => report(`${top}: watch error: ${(e as Error).message}`));
    return w;
  };

  let announced = false;
  const announceReady = (t: Turn): void => {
    if (announced) return;
    announced = true;
    options.onReady?.(t);
  };
  onReady = announceReady;

  const begin = (): void => {
    initial().catch((e: unknown) => {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT' && !announced) {
        // An optional config folder that does not exist (yet) is an empty configuration: the
        // watcher is ready, and loads the folder when it appears (the reference fails instead).
        report(`${root}: does not exist (yet); watching for it`, 'warn');
        facet.turn(announceReady);
        const poll = setInterval(() => {
          if (closed) {
            clearInterval(poll);
            return;
          }
          void stat(root).then(() => {
            clearInterval(poll);
            if (!closed) begin();
          }, () => {});
        }, MISSING_POLL_MS);
        return;
      }
      report(`${root}: ${(e as Error).message}`);
      facet.turn(() => {
        throw new Error(`config watcher cannot read ${root}: ${(e as Error).message}`);
      });
    });
  };
  begin();
}
