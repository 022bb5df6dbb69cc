// The shipped userSettings.pr and its example consumers: valid for --check, and the seed's wiring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';

const SERVER = path.resolve('bin/syndicate-server.js');
const FILES = ['userSettings.pr', 'wifi.pr', 'modem.pr'].map((f) => path.join('etc/syndicate/services', f));

test('syndicate-server --check accepts userSettings.pr, wifi.pr and modem.pr', () => {
  const r = spawnSync(process.execPath, [SERVER, '--check', ...FILES], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stdout + r.stderr);
  assert.match(r.stderr + r.stdout, /checked 3 file\(s\): 0 error\(s\)/);
});

test('userSettings.pr wires the daemon and the watcher as the seed does', async () => {
  const text = (await readFile(FILES[0], 'utf8')).replace(/\s+/g, ' ');
  for (const line of [
    'let ?settingsDir = "/etc/syndicate/user-settings"',
    '<require-service <daemon user-settings-daemon>>',
    '<daemon user-settings-daemon { argv: "/usr/lib/synit/user-settings-daemon" protocol: application/syndicate }>',
    '? <service-object <daemon user-settings-daemon> ?cap> [ $cap { config: $config settingsDir: $settingsDir } ]',
    'let ?settings = <* $config [ <rewrite ?item <user-setting $item>> ]>',
    '<require-service <config-watcher $settingsDir { config: $settings }>>',
  ]) assert.ok(text.includes(line), line);
});
