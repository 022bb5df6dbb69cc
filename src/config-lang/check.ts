import { listScripts } from './script-files.ts';
import { loadScriptFile } from './script-file.ts';
import { validateScript } from './validate.ts';

/** The outcome of checking scripts without running them. */
export interface CheckReport {
  files: number;
  /** Every error, each as `path:line:column: message`. */
  errors: string[];
}

/** Parses and validates every script under the given files and folders (`--check`). */
export async function checkPaths(paths: string[]): Promise<CheckReport> {
  const report: CheckReport = { files: 0, errors: [] };
  for (const p of paths) {
    let files: string[];
    try {
      files = await listScripts(p);
    } catch (e) {
      report.errors.push(`${p}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : (e as Error).message}`);
      continue;
    }
    for (const f of files) {
      report.files++;
      const loaded = await loadScriptFile(f);
      const errors = loaded.kind === 'ok' ? validateScript(loaded.instructions) : loaded.errors;
      for (const e of errors) report.errors.push(e.pos ? e.message : `${f}: ${e.message}`);
    }
  }
  return report;
}
