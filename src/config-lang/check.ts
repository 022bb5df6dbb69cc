import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { isScriptName, listScripts } from './script-files.ts';
import { loadScriptFile } from './script-file.ts';
import type { ScriptError } from './script-error.ts';
import { assertedTemplates, validateScript, type AssertedTemplate } from './validate.ts';

/** The outcome of checking scripts without running them. */
export interface CheckReport {
  files: number;
  /** Every error, each as `path:line:column: message`. */
  errors: string[];
  /** Files named or found that are not scripts (not `*.pr`), so were not checked. */
  skipped: string[];
}

/** A template some checked script asserts, with its file. */
export interface CheckedAssertion extends AssertedTemplate {
  readonly file: string;
}

/**
 * Checks of the records the bus gives meaning to (daemon specs, dependencies, listeners),
 * over every template the scripts assert; supplied by the caller, since their rules live in
 * the services.
 */
export type RecordChecks = (asserted: readonly CheckedAssertion[]) => ScriptError[];

/** Non-hidden files under `root` that the watcher would not load (not `*.pr`). */
async function nonScripts(root: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(dir, e.name);
      const isDir = e.isDirectory() || (e.isSymbolicLink() && ((await stat(full).catch(() => null))?.isDirectory() ?? false));
      if (isDir) await walk(full);
      else if (!isScriptName(e.name)) out.push(full);
    }
  };
  const st = await stat(root);
  if (st.isDirectory()) {
    if (!path.basename(await realpath(root)).startsWith('.')) await walk(root);
  } else if (!isScriptName(root)) {
    out.push(root);
  }
  return out.sort();
}

/** Parses and validates every script under the given files and folders (`--check`). */
export async function checkPaths(paths: string[], recordChecks?: RecordChecks): Promise<CheckReport> {
  const report: CheckReport = { files: 0, errors: [], skipped: [] };
  const asserted: CheckedAssertion[] = [];
  for (const p of paths) {
    let files: string[];
    try {
      files = await listScripts(p);
      report.skipped.push(...(await nonScripts(p)));
    } catch (e) {
      report.errors.push(`${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
      continue;
    }
    for (const f of files) {
      report.files++;
      const loaded = await loadScriptFile(f);
      const errors = loaded.kind === 'ok' ? validateScript(loaded.instructions) : loaded.errors;
      for (const e of errors) report.errors.push(e.pos ? e.message : `${f}: ${e.message}`);
      if (loaded.kind === 'ok') for (const a of assertedTemplates(loaded.instructions)) asserted.push({ ...a, file: f });
    }
  }
  for (const e of recordChecks?.(asserted) ?? []) report.errors.push(e.message);
  return report;
}
