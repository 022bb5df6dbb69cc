#!/usr/bin/env node
// `npm run build` (also run by `npm ci`, through `prepare`): compiles src/ into dist/ with tsc, one
// file per module, then bundles each program a bin/ wrapper launches into dist/bundle/NAME/NAME.js
// with esbuild (installed with tsx): one file to load instead of some seventy, which is most of
// what a short `syndicate-ctl status` costs. Sub-commands loaded with `await import()` become
// chunks of their own, loaded only when used. Packages under node_modules stay imports.
// The short commands (SHORT below) are also bundled as one CommonJS file, NAME.cjs, which
// bin/launch.js runs through V8's code cache without Node's ES module loader (a fifth of a
// status); not when their code imports a package (which may be an ES module), has an import()
// esbuild leaves (of a builtin) or cannot be CommonJS (top-level await): then NAME.js serves.
//
// Beside each bundle, `sources` lists the files it was made from (bin/launch.js checks those).
//
// dist/.built says "dist/ is complete and holds src/ as it was when the build started": it is
// removed first (a program started during the build runs the TypeScript) and written last with
// the build's start time (less a margin for the coarse clock file times come from), so that a
// source saved while the build ran counts as newer than dist/ and bin/launch.js never runs it stale.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const top = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const dist = path.join(top, 'dist');
const stamp = path.join(dist, '.built');
const started = (Date.now() - 50) / 1000;
/** Programs started often and briefly, for which starting is most of the run. */
const SHORT = new Set(['syndicate-ctl', 'preserves-tool']);

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

const common = { absWorkingDir: top, bundle: true, platform: 'node', target: 'node20', packages: 'external', sourcemap: 'linked', logLevel: 'warning' };

/** NAME.cjs for a short command, or a line saying why not (NAME.js serves then). */
async function commonJsBundle(name, entry, outdir) {
  const outfile = path.join(outdir, name + '.cjs');
  let reason;
  try {
    const r = await build({
      ...common, entryPoints: [entry], outfile, format: 'cjs', metafile: true, logLevel: 'silent',
      // import.meta.url (createRequire in a few modules) as the bundle's own URL.
      define: { 'import.meta.url': '__importMetaUrl' },
      banner: { js: "var __importMetaUrl = require('node:url').pathToFileURL(__filename).href;" },
    });
    const imports = Object.values(r.metafile.outputs).flatMap((o) => o.imports).filter((i) => i.external);
    // import() in a vm.Script needs an experimental option (and warns): required builtins only.
    const dynamic = imports.filter((i) => i.kind === 'dynamic-import');
    const packages = imports.filter((i) => !isBuiltin(i.path));
    if (dynamic.length === 0 && packages.length === 0) return;
    reason = packages.length > 0 ? `it imports ${packages.map((i) => i.path).join(', ')}` : `it has import(${dynamic.map((i) => i.path).join(', ')})`;
  } catch (e) {
    reason = e.message.split('\n')[0];
  }
  rmSync(outfile, { force: true });
  rmSync(outfile + '.map', { force: true });
  console.warn(`dev/build.js: ${name} is not bundled as CommonJS (${reason}); it starts from ${name}.js`);
}

rmSync(path.join(dist, 'bundle'), { recursive: true, force: true });
await Promise.all(programs().map(async ({ name, folder }) => {
  const entry = path.join(top, 'src', folder, name + '.ts');
  const outdir = path.join(dist, 'bundle', name);
  const r = await build({ ...common, entryPoints: [entry], outdir, entryNames: '[name]', chunkNames: '[name]-[hash]', splitting: true, format: 'esm', metafile: true });
  // The files the bundle was made from, for bin/launch.js to check against dist/.built.
  writeFileSync(path.join(outdir, 'sources'), Object.keys(r.metafile.inputs).join('\n') + '\n');
  if (SHORT.has(name)) await commonJsBundle(name, entry, outdir);
}));

writeFileSync(stamp, '');
utimesSync(stamp, started, started);
