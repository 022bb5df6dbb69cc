import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { listScripts } from '../../src/config-lang/script-files.ts';
import { checkPaths } from '../../src/config-lang/check.ts';
import { formatLogLine } from '../../src/config-lang/log-line.ts';
import { parse } from '../../src/preserves/index.ts';

async function tree(files: { [rel: string]: string }): Promise<string> {
  const root = await mkdtemp(path.join(tmpdir(), 'cfg-'));
  for (const [rel, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(root, rel)), { recursive: true });
    await writeFile(path.join(root, rel), text);
  }
  return root;
}

test('scripts are listed depth-first, sorted by name, skipping hidden and non-.pr files', async () => {
  const root = await tree({
    'b.pr': '', 'a/z.pr': '', 'a/b.pr': '', 'c.txt': '', '.hidden.pr': '', '.dir/x.pr': '', 'B.pr': '', 'ab.pr': '',
  });
  try {
    const rel = (await listScripts(root)).map((f) => path.relative(root, f));
    assert.deepEqual(rel, ['B.pr', 'a/b.pr', 'a/z.pr', 'ab.pr', 'b.pr']);
    assert.deepEqual(await listScripts(path.join(root, 'c.txt')), []);
  } finally {
    await rm(root, { recursive: true });
  }
});

test('check reports every error of every file with line and column', async () => {
  const root = await tree({
    'good.pr': '<a> ? <b ?x> <c $x>\n',
    'sub/bad.pr': '<ok>\nfoo\n<also-ok> 42\n',
    'syntax.pr': '<a\n',
    'wild.pr': '<x ?y>\n? <_ 1> <z>\n',
    'notes.txt': 'not a script\n',
  });
  try {
    const good = await checkPaths([path.join(root, 'good.pr')]);
    assert.deepEqual(good, { files: 1, errors: [], skipped: [] });
    const all = await checkPaths([root, path.join(root, 'missing')]);
    assert.equal(all.files, 4);
    assert.deepEqual(all.skipped.map((f) => path.relative(root, f)), ['notes.txt']);
    const rel = all.errors.map((e) => e.replace(root + '/', ''));
    assert.deepEqual(rel, [
      'sub/bad.pr:2:1: Invalid token foo',
      'sub/bad.pr:3:11: Invalid token: only records and dictionaries can be asserted bare (use += for other values)',
      'syntax.pr:2:1: unexpected end of input',
      'wild.pr:1:4: Invalid use of wildcard in template',
      'wild.pr:2:3: Record pattern must have literal label',
      'missing: no such file or directory',
    ]);
  } finally {
    await rm(root, { recursive: true });
  }
});

test('log lines are readable: time, service[pid], stream, text, other keys', () => {
  const line = formatLogLine('2026-01-01T00:00:00Z', parse('{pid: 42, service: <daemon sshd>, stream: stderr, line: "hello\\n", level: warn}'));
  assert.equal(line, '2026-01-01T00:00:00Z <daemon sshd>[42] stderr: hello level=warn');
  assert.equal(formatLogLine('t', parse('{line: "x"}')), 't - -: x');
});
