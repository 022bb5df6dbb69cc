// user-settings-daemon end to end: a real bus process runs the shipped userSettings.pr under a
// root of its own, the daemon is the real program, and syndicate-ctl and a client talk to it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { decode, encode, is, parse, record, type Value } from '../../src/preserves/index.ts';
import { P, showAssertion, type Assertion } from '../../src/bus/index.ts';
import { Settings } from '../../src/settings/protocol.ts';
import { readSettingText, settingFileName, settingFileText } from '../../src/settings/setting-file.ts';
import { Bus, SettingsRoot, until } from './bus-harness.ts';

const ENABLED = record('mobile-data-enabled') as Assertion;
const APN = record('mobile-data-apn', 'internet') as Assertion;
const WIFI = record('selected-wifi-network', 'home', 'wpa-psk', 'secret') as Assertion;

let root: SettingsRoot;
let bus: Bus;

before(async () => {
  root = await SettingsRoot.create({
    // A consumer: reacts to each setting, and to both together as modem.pr does.
    'consumer.pr': `
      ? <user-setting <mobile-data-enabled>> [
        <mobile-data-on>
        ? <user-setting <mobile-data-apn ?apn>> [ <mobile-data-via $apn> ]
      ]
    `,
    // The shipped example consumers, with what they need: a machine dataspace, a modem device.
    'wifi.pr': await readFile('etc/syndicate/services/wifi.pr', 'utf8'),
    'modem.pr': await readFile('etc/syndicate/services/modem.pr', 'utf8'),
    'machine.pr': `
      let ?ds = dataspace
      <machine-dataspace $ds>
      ? <machine-dataspace ?m> [ $m ? <selected-wifi-network ?ssid _ _> [ $config <wifi-daemon-sees $ssid> ] ]
      <require-service <qmi-wwan "/dev/cdc-test">>
    `,
  });
  await mkdir(path.join(root.dir, 'usr/lib/synit'), { recursive: true });
  await writeFile(path.join(root.dir, 'usr/lib/synit/qmi-wwan-manager'), '#!/bin/sh\nexec sleep 1000\n', { mode: 0o755 });
  // Present before the start: a good file, a misnamed one, a corrupt one.
  await mkdir(root.settingsDir, { recursive: true });
  await writeFile(path.join(root.settingsDir, settingFileName(WIFI)), settingFileText(WIFI));
  await writeFile(path.join(root.settingsDir, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.pr'), '<selected-wifi-network "evil" wpa-psk "x">\n');
  await writeFile(path.join(root.settingsDir, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.pr'), '<selected-wifi-network "half');
  bus = await Bus.start(root);
  bus.follow(P.rec('mobile-data-on'));
  bus.follow(P.rec('mobile-data-via', P.discard()));
  bus.follow(P.rec('wifi-daemon-sees', P.discard()));
  bus.follow(P.rec('service-state', P.rec('daemon', P.rec('qmi-wwan-manager', P.discard(), P.discard())), P.discard()));
});

after(async () => {
  await bus?.stop();
  await root?.remove();
});

test('a corrupt file and a misnamed file are reported with their paths; the rest is published', async () => {
  await until(() => bus.all('user-settings-problem').length === 2, 'two problems');
  assert.ok(bus.has(Settings.setting(WIFI)), 'the well-named file is published');
  // The shipped wifi.pr relays it into the machine dataspace.
  await until(() => bus.has(record('wifi-daemon-sees', 'home') as Assertion), 'wifi.pr to relay the selected network');
  await until(() => !bus.all('user-setting').some((s) => s.includes('evil')), 'the misnamed file not published');
  const r = await root.ctl('settings', 'list');
  assert.equal(r.code, 0, r.err);
  const misnamed = path.join(root.settingsDir, 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.pr');
  const corrupt = path.join(root.settingsDir, 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.pr');
  assert.ok(r.out.includes(`problem: ${misnamed}: the name is not the hash of the content`), r.out);
  assert.ok(r.out.includes(`problem: ${corrupt}:1:29: unexpected end of input`), r.out);
  assert.ok(r.out.includes(`${showAssertion(WIFI)}  ${path.join(root.settingsDir, settingFileName(WIFI))}`), r.out);
  const json = JSON.parse((await root.ctl('settings', 'list', '--json')).out) as { folder: string; problems: { file: string }[] };
  assert.equal(json.folder, root.settingsDir);
  assert.deepEqual(json.problems.map((p) => p.file), [misnamed + '.rejected', corrupt + '.rejected']);
});

test('settings set: the file, then <user-setting X> in $config and the consumer reacts; set twice is one file; unset undoes all', async () => {
  const file = path.join(root.settingsDir, '8814297f352be4ebbff19137770e619b2ebc5e91.pr');
  let r = await root.ctl('settings', 'set', '<mobile-data-enabled>');
  assert.equal(r.code, 0, r.err + r.out);
  assert.equal(r.out, `set <mobile-data-enabled> (${file})\n`);
  // Acknowledged means on disk: the file is there the moment ctl returns.
  assert.equal(await readFile(file, 'utf8'), '<mobile-data-enabled>\n');
  await until(() => bus.has(Settings.setting(ENABLED)), '<user-setting <mobile-data-enabled>>');
  await until(() => bus.has(record('mobile-data-on') as Assertion), 'the consumer to react');
  r = await root.ctl('settings', 'set', '<mobile-data-apn "internet">', '--json');
  assert.equal(r.code, 0);
  assert.deepEqual(JSON.parse(r.out), { action: 'set', item: '<mobile-data-apn "internet">', file: path.join(root.settingsDir, 'd64373b53ec3476d647b5a2f5d5c5f81345cc1f1.pr'), ok: true });
  await until(() => bus.has(record('mobile-data-via', 'internet') as Assertion), 'the consumer to react to both settings');
  // The shipped modem.pr: both settings and a requested modem run qmi-wwan-manager for it.
  const manager = record('daemon', record('qmi-wwan-manager', '/dev/cdc-test', 'internet'));
  await until(() => bus.has(record('service-state', manager, Symbol.for('ready')) as Assertion), 'modem.pr to run qmi-wwan-manager');

  const before = (await readdir(root.settingsDir)).filter((n) => n.endsWith('.pr')).length;
  assert.equal((await root.ctl('settings', 'set', '<mobile-data-enabled>')).code, 0);
  assert.equal((await readdir(root.settingsDir)).filter((n) => n.endsWith('.pr')).length, before, 'set twice: still one file');

  r = await root.ctl('settings', 'unset', '<mobile-data-enabled>');
  assert.equal(r.code, 0);
  await assert.rejects(stat(file), { code: 'ENOENT' });
  await until(() => !bus.has(Settings.setting(ENABLED)), 'the setting to be retracted');
  await until(() => !bus.has(record('mobile-data-on') as Assertion) && !bus.has(record('mobile-data-via', 'internet') as Assertion), 'the consumer to react to the unset');
  await until(() => !bus.all('service-state').some((s) => s.includes('qmi-wwan-manager')), 'modem.pr to stop qmi-wwan-manager');
  assert.equal((await root.ctl('settings', 'unset', '<mobile-data-enabled>')).code, 0, 'unset of an absent setting is fine');
  assert.equal((await root.ctl('settings', 'unset', '<mobile-data-apn "internet">')).code, 0);
});

test('the RPC and the message form through the relay: files named by the hash, contents read back, settings published', async () => {
  const items: Assertion[] = [
    parse('<example 1 #t "x">') as Assertion,
    parse('<example {a: 1 b: "two"}>') as Assertion,
    parse('{ssid: "café" psk: "p" priority: 2}') as Assertion,
    parse('<wifi [$x ?y _]>') as Assertion,
  ];
  for (const v of items) {
    assert.equal(await bus.rpc({ kind: 'assert', item: v }), 'done');
    const name = settingFileName(v);
    const back = readSettingText(await readFile(path.join(root.settingsDir, name), 'utf8'), name, name);
    assert.ok(back.ok && is(back.item as Value, v as Value), `${name} holds the item`);
    await until(() => bus.has(Settings.setting(v)), `<user-setting ${String(name)}>`);
  }
  assert.equal(settingFileName(items[0]), '4d5779bb0837d814df3edc323bf73f3e65f557a3.pr');
  assert.equal(settingFileName(items[1]), '5112f65400daaadc6965cfdf3df98d522d6c4666.pr');
  for (const v of items) assert.equal(await bus.rpc({ kind: 'retract', item: v }), 'done');
  for (const v of items) await until(() => !bus.has(Settings.setting(v)), 'retracted');

  const m = record('sent-as-message', 1) as Assertion;
  await bus.send({ kind: 'assert', item: m });
  await until(() => bus.has(Settings.setting(m)), 'the message form to take effect');
  await bus.send({ kind: 'retract', item: m });
  await until(() => !bus.has(Settings.setting(m)), 'the message form retract to take effect');
});

// While binary Preserves drops a leading U+FEFF when decoding (being fixed in src/preserves), the
// item reaches the daemon without its mark and the file is named after the shortened string: the
// test is marked todo only as long as the codec has that fault.
const codecDropsMark = decode(encode('\uFEFFx')) !== '\uFEFFx';
test('a string with a leading U+FEFF travels through the relay and is kept whole', { todo: codecDropsMark && 'binary Preserves drops a leading U+FEFF (fixed on branch codec)' }, async () => {
  const v = '\uFEFFstarts with a byte-order mark';
  assert.equal(await bus.rpc({ kind: 'assert', item: v }), 'done');
  const name = settingFileName(v);
  const back = readSettingText(await readFile(path.join(root.settingsDir, name), 'utf8'), name, name);
  assert.ok(back.ok && back.item === v, `${name} holds the string with its mark`);
  await until(() => bus.has(Settings.setting(v)), 'the setting published');
  assert.equal(await bus.rpc({ kind: 'retract', item: v }), 'done');
});

test('folder 0700, files 0600', async () => {
  assert.equal(await bus.rpc({ kind: 'assert', item: APN }), 'done');
  assert.equal((await stat(root.settingsDir)).mode & 0o777, 0o700);
  for (const n of await readdir(root.settingsDir)) {
    if (n.endsWith('.pr')) assert.equal((await stat(path.join(root.settingsDir, n))).mode & 0o777, 0o600, n);
  }
  assert.equal(await bus.rpc({ kind: 'retract', item: APN }), 'done');
});

test('a bad request gets one line and a non-zero exit; no daemon: a timeout, one line, non-zero', async () => {
  let r = await root.ctl('settings', 'set', '<unclosed');
  assert.equal(r.code, 2);
  assert.equal(r.err.trim().split('\n').length, 1);
  r = await root.ctl('stop', 'user-settings-daemon', '--wait');
  assert.equal(r.code, 0, r.out + r.err);
  r = await root.ctl('settings', 'set', '<never-answered>', '--timeout', '1');
  assert.equal(r.code, 1);
  assert.equal(r.out, '');
  assert.equal(r.err, 'syndicate-ctl: settings set <never-answered>: no answer from user-settings-daemon within 1 s (is it running?)\n');
  r = await root.ctl('start', 'user-settings-daemon', '--wait');
  assert.equal(r.code, 0, r.out + r.err);
  await until(() => bus.has(Settings.folder(root.settingsDir)), 'the daemon back');
});
