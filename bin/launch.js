// Starts a program of src/cli: from dist/ (built by `npm run build`, which `npm ci` runs; see
// dev/build.js) when dist/.built is newer than every source file, else straight from the
// TypeScript through tsx. Compiled, the program is one bundled file (dist/bundle/NAME/NAME.js):
// loading one file instead of some seventy modules is most of a short `syndicate-ctl status`.
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const top = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

// Runs at every start, so kept lean: string paths, no path.join (a third of its time). A folder's
// own time counts too: a source moved in with `mv` keeps its old time but changes the folder's.
function newestSource(dir) {
  let newest = statSync(dir).mtimeMs;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = dir + '/' + e.name;
    const t = e.isDirectory() ? newestSource(p) : statSync(p).mtimeMs;
    if (t > newest) newest = t;
  }
  return newest;
}

function distIsFresh() {
  try {
    return statSync(path.join(top, 'dist/.built')).mtimeMs >= newestSource(path.join(top, 'src'));
  } catch {
    return false;
  }
}

/** Imports `src/FOLDER/NAME` (compiled or not; FOLDER `cli` by default) and runs it; its result is the exit code. */
export async function launch(name, folder = 'cli') {
  let mod;
  if (distIsFresh()) {
    const bundle = path.join(top, 'dist/bundle', name, name + '.js');
    mod = await import(pathToFileURL(existsSync(bundle) ? bundle : path.join(top, 'dist', folder, name + '.js')).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    mod = await import(pathToFileURL(path.join(top, 'src', folder, name + '.ts')).href);
  }
  const code = await mod.run();
  // A program that returns its exit code is done: leftover handles (a watcher still closing,
  // a socket) must not keep a stopped bus or a finished command alive. But output still queued
  // for a pipe or a slow reader goes first: a write's callback runs once all before it are out.
  if (typeof code === 'number') {
    process.exitCode = code;
    await Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write('', r))));
    process.exit(code);
  }
}
