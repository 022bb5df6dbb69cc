// The shipped tree etc/syndicate booting in layers, with stand-ins for getty, udevd, udevadm,
// hostname and ssh-keygen first on PATH (dev/root/bin) and a root prefix of our own.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { record } from '../../src/preserves/index.ts';
import { P, settle } from '../../src/bus/index.ts';
import { daemonService } from '../../src/services/supervision/daemon-service.ts';
import { shutdownSystem } from '../../src/services/shutdown.ts';
import { show } from '../bus/harness.ts';
import { has, testSystem } from './service-harness.ts';

test('boot, then core up to <milestone core>, then the services layer; exec runs a temporary daemon', async () => {
  const root = await mkdtemp(path.join(tmpdir(), 'shipped-root-'));
  await mkdir(path.join(root, 'etc'), { recursive: true });
  await symlink(path.resolve('etc/syndicate'), path.join(root, 'etc/syndicate'));
  const savedPath = process.env.PATH;
  process.env.PATH = path.resolve('dev/root/bin') + path.delimiter + savedPath;
  const events: string[] = [];
  const s = await testSystem({
    rootDir: root,
    configPaths: ['/etc/syndicate/boot'],
    services: (config, log) => [daemonService(config, log, {})],
    onBoot: (t, sys) => {
      t.observe(sys.config, P.rec('service-state', P.bind(), P.bind()), { added: (_t, [n, st]) => void events.push(`${show(n)} ${show(st)}`) });
      t.observe(sys.config, P.rec('run-service', P.bind()), { added: (_t, [n]) => void events.push(`run ${show(n)}`), removed: (_t, [n]) => void events.push(`stop ${show(n)}`) });
    },
  });
  try {
    await s.until(has('<service-state <milestone core> up>'), 'milestone core up');
    // The space holds it as soon as it is asserted; our observer hears of it in a later turn.
    await settle();
    const coreUp = events.indexOf('<milestone core> up');
    for (const svc of ['<daemon console-getty>', '<daemon eudev>', '<daemon eudev-initial-scan>', '<daemon hostname>']) {
      const i = events.indexOf(`${svc} up`);
      assert.ok(i >= 0 && i < coreUp, `${svc} is up before <milestone core> (${i} < ${coreUp})`);
    }
    assert.equal(events.filter((e) => e === '<milestone core> started').length, 1, 'milestone core started once, never torn down');
    await s.until((c) => c.some((l) => l.startsWith('<service-state <config-watcher "/etc/syndicate/services"') && l.endsWith(' ready>')), 'services layer loaded');
    await settle();
    const servicesRun = events.findIndex((e) => e.startsWith('run <config-watcher "/etc/syndicate/services"'));
    assert.ok(servicesRun > coreUp, 'the services layer loads only after <milestone core> is up');
    await s.until(has('<service-state <daemon ssh-host-keys> complete>'), 'a services-layer one-shot ran');

    // ! <exec ["true"]> creates a temporary-exec daemon, which goes away once it completes.
    await s.act((t) => t.message(s.system.config, record('exec', ['true'])));
    // (network.pr runs temporary daemons of its own: look for this one.)
    await s.until(() => events.some((e) => e.startsWith('run <daemon <temporary-exec ') && e.endsWith(' ["true"]>>')), 'temporary daemon runs');
    await s.until(() => events.some((e) => e.startsWith('stop <daemon <temporary-exec ') && e.endsWith(' ["true"]>>')), 'temporary daemon removed');
    assert.ok(events.some((e) => /^<daemon <temporary-exec "[^"]+" \["true"\]>> complete$/.test(e)), 'it completed');
  } finally {
    await shutdownSystem(s.system);
    process.env.PATH = savedPath;
    await rm(root, { recursive: true, force: true });
  }
});
