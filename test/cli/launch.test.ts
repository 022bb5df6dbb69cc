// bin/launch.js: a built program runs from its bundle only while no source it was made from
// changed; the code cache of an old bundle is never used for a new one.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const TOP = path.resolve(import.meta.dirname, '../..');

/** A package with bin/launch.js, one program `prog` in src/cli, and a built bundle of it. */
function fakePackage(t: { after(f: () => void): void }) {
  const dir = mkdtempSync(path.join(tmpdir(), `launch-${process.pid}-`));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  mkdirSync(path.join(dir, 'bin'));
  mkdirSync(path.join(dir, 'src/cli'), { recursive: true });
  mkdirSync(path.join(dir, 'dist/bundle/prog'), { recursive: true });
  copyFileSync(path.join(TOP, 'bin/launch.js'), path.join(dir, 'bin/launch.js'));
  copyFileSync(path.join(TOP, 'bin/package.json'), path.join(dir, 'bin/package.json'));
  symlinkSync(path.join(TOP, 'node_modules'), path.join(dir, 'node_modules'));
  writeFileSync(path.join(dir, 'package.json'), '{"type": "module"}\n');
  writeFileSync(path.join(dir, 'bin/prog.js'), "require('./launch.js').launch('prog');\n");
  const source = path.join(dir, 'src/cli/prog.ts');
  writeFileSync(source, "export async function run(): Promise<number> { process.stdout.write('from source\\n'); return 0; }\n");
  const past = new Date(Date.now() - 60_000);
  utimesSync(source, past, past);
  const bundle = path.join(dir, 'dist/bundle/prog/prog.cjs');
  /** Writes the bundle as a build does (a new file), printing `word`. */
  const build = (word: string) => {
    writeFileSync(bundle + '.new', `exports.run = async () => { process.stdout.write('bundle ${word}\\n'); return 0; };\n`);
    renameSync(bundle + '.new', bundle);
    writeFileSync(path.join(dir, 'dist/bundle/prog/sources'), 'src/cli/prog.ts\n');
    writeFileSync(path.join(dir, 'dist/.built'), '');
  };
  const run = () => {
    const r = spawnSync(process.execPath, [path.join(dir, 'bin/prog.js')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.trim();
  };
  const caches = () => readdirSync(path.dirname(bundle)).filter((f) => f.endsWith('.cache'));
  return { dir, source, bundle, build, run, caches };
}

test('a fresh bundle runs, and again from its code cache; an edited source runs through tsx', (t) => {
  const p = fakePackage(t);
  p.build('one');
  assert.equal(p.run(), 'bundle one');
  assert.equal(p.caches().length, 1, 'the first run leaves a code cache');
  assert.equal(p.run(), 'bundle one');
  // Edited after the build: the bundle is stale.
  const now = new Date(Date.now() + 2000);
  utimesSync(p.source, now, now);
  assert.equal(p.run(), 'from source');
});

test('a rebuilt bundle of the same length never runs the cache of the old one', (t) => {
  const p = fakePackage(t);
  p.build('AAAA');
  assert.equal(p.run(), 'bundle AAAA');
  assert.equal(p.run(), 'bundle AAAA');
  p.build('BBBB');
  assert.equal(p.run(), 'bundle BBBB');
  assert.equal(p.run(), 'bundle BBBB');
});

test('without dist/.built, or with a listed source gone, the program runs from source', (t) => {
  const p = fakePackage(t);
  p.build('one');
  rmSync(path.join(p.dir, 'dist/.built'));
  assert.equal(p.run(), 'from source');
  p.build('one');
  writeFileSync(path.join(p.dir, 'dist/bundle/prog/sources'), 'src/cli/prog.ts\nsrc/cli/moved-away.ts\n');
  assert.equal(p.run(), 'from source');
});

test('without the list of sources, every file under src/ counts', (t) => {
  const p = fakePackage(t);
  p.build('one');
  rmSync(path.join(p.dir, 'dist/bundle/prog/sources'));
  assert.equal(p.run(), 'bundle one');
  const now = new Date(Date.now() + 2000);
  writeFileSync(path.join(p.dir, 'src/cli/other.ts'), 'export {};\n');
  utimesSync(path.join(p.dir, 'src/cli/other.ts'), now, now);
  assert.equal(p.run(), 'from source');
});
