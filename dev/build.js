#!/usr/bin/env node
// `npm run build` (also run by `npm ci`, through `prepare`): compiles src/ into dist/ with tsc, one
// file per module, then bundles each program a bin/ wrapper launches into dist/bundle/NAME/NAME.js
// with esbuild (installed with tsx): one file to load instead of some seventy, which is most of
// what a short `syndicate-ctl status` costs. Sub-commands loaded with `await import()` become
// chunks of their own, loaded only when used. Packages under node_modules stay imports.
//
// dist/.built says "dist/ is complete and holds src/ as it was when the build started": it is
// removed first (a program started during the build runs the TypeScript) and written last with
// the build's start time (less a margin for the coarse clock file times come from), so that a
// source saved while the build ran counts as newer than dist/ and bin/launch.js never runs it stale.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const top = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(top, 'dist');
const stamp = path.join(dist, '.built');
const started = (Date.now() - 50) / 1000;

rmSync(stamp, { force: true });
const tsc = spawnSync(process.execPath, [path.join(top, 'node_modules/typescript/bin/tsc'), '-p', path.join(top, 'tsconfig.build.json')], { stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

/** Every program a bin/ wrapper starts: `launch('NAME')` or `launch('NAME', 'FOLDER')`. */
function programs() {
  const found = [];
  for (const f of readdirSync(path.join(top, 'bin'))) {
    const m = /launch\('([\w-]+)'(?:,\s*'([\w-]+)')?\)/.exec(readFileSync(path.join(top, 'bin', f), 'utf8'));
    if (m) found.push({ name: m[1], folder: m[2] ?? 'cli' });
  }
  return found;
}

rmSync(path.join(dist, 'bundle'), { recursive: true, force: true });
await Promise.all(programs().map(({ name, folder }) => build({
  entryPoints: [path.join(top, 'src', folder, name + '.ts')],
  outdir: path.join(dist, 'bundle', name),
  entryNames: '[name]',
  chunkNames: '[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  logLevel: 'warning',
})));

writeFileSync(stamp, '');
utimesSync(stamp, started, started);
