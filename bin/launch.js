// Starts a program of src/: from dist/ (built by `npm run build`, which `npm ci` runs; see
// dev/build.js) when dist/.built is newer than every source file the program's bundle was made
// from (dist/bundle/NAME/sources; without that list, every file in src/), else straight from
// the TypeScript through tsx, so an edited source never runs stale.
//
// Built, a program is one bundled file. Short commands (syndicate-ctl) are bundled as CommonJS
// (NAME.cjs) and compiled through V8's code cache, kept beside the bundle: they start without
// Node's ES module loader and without parsing what the cache holds. bin/ is CommonJS (its
// package.json) for the same reason. Other programs are ES module bundles (NAME.js).
'use strict';
const { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs');
const path = require('node:path');
const { pathToFileURL } = require('node:url');

const top = path.dirname(__dirname);

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

/** Whether dist/ holds the program `name` as its sources are now. */
function distIsFresh(name) {
  try {
    const built = statSync(top + '/dist/.built').mtimeMs;
    let sources;
    try {
      sources = readFileSync(`${top}/dist/bundle/${name}/sources`, 'utf8').split('\n');
    } catch {
      return built >= newestSource(top + '/src');
    }
    // A source edited since, or gone (moved, removed), makes the bundle stale; a new file
    // matters only once an edited source imports it.
    for (const s of sources) if (s !== '' && statSync(top + '/' + s).mtimeMs > built) return false;
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs the CommonJS bundle `file` with V8's code cache. The cache is named after the bundle's
 * inode and time, so a rebuilt bundle never meets the cache of an old one (V8 itself checks only
 * the source's length); it is written once, after a run, with everything that run compiled.
 * Returns the module's exports and a function that writes the cache if it is missing or stale.
 */
function loadCached(file) {
  const { Script } = require('node:vm');
  const fd = openSync(file, 'r');
  let source, st;
  try {
    st = fstatSync(fd);
    source = readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
  const cacheFile = `${file}.${st.ino}-${st.mtimeMs}.cache`;
  let cachedData;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // One line, so that line numbers in stack traces are the bundle's.
  // The bundle holds no import() (dev/build.js sees to it), so no importModuleDynamically.
  const script = new Script(`(function (exports, require, module, __filename, __dirname) {${source}\n})`, { filename: file, cachedData });
  const module = { exports: {} };
  script.runInThisContext()(module.exports, require('node:module').createRequire(file), module, file, path.dirname(file));
  // Made from a run that succeeded (one that found no bus compiled little worth keeping).
  const saveCache = (code) => {
    if (code !== 0 || (cachedData !== undefined && !script.cachedDataRejected)) return;
    try {
      const tmp = `${cacheFile}.${process.pid}.tmp`;
      writeFileSync(tmp, script.createCachedData());
      renameSync(tmp, cacheFile);
    } catch {
      // A read-only install: every run compiles, as without a cache.
    }
  };
  return { mod: module.exports, saveCache };
}

/** Imports `src/FOLDER/NAME` (built or not; FOLDER `cli` by default) and runs it; its result is the exit code. */
async function launch(name, folder = 'cli') {
  let mod;
  let saveCache = () => {};
  if (distIsFresh(name)) {
    const bundle = `${top}/dist/bundle/${name}/${name}`;
    if (existsSync(bundle + '.cjs')) ({ mod, saveCache } = loadCached(bundle + '.cjs'));
    else mod = await import(pathToFileURL(existsSync(bundle + '.js') ? bundle + '.js' : path.join(top, 'dist', folder, name + '.js')).href);
  } else {
    const { register } = await import('tsx/esm/api');
    register();
    mod = await import(pathToFileURL(path.join(top, 'src', folder, name + '.ts')).href);
  }
  const code = await mod.run();
  saveCache(typeof code === 'number' ? code : process.exitCode ?? 0);
  // A program that returns its exit code is done: leftover handles (a watcher still closing,
  // a socket) must not keep a stopped bus or a finished command alive. But output still queued
  // for a pipe or a slow reader goes first: a write's callback runs once all before it are out.
  if (typeof code === 'number') {
    process.exitCode = code;
    await Promise.all([process.stdout, process.stderr].map((s) => new Promise((r) => s.write('', r))));
    process.exit(code);
  }
}

module.exports = { launch };
