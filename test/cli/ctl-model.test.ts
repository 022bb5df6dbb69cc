// syndicate-ctl's view of the services, built from config-space assertions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAll } from '../../src/preserves/index.ts';
import type { Assertion } from '../../src/bus/index.ts';
import { buildServiceModel, displayState } from '../../src/cli/ctl/service-model.ts';
import { explain, cyclesThrough } from '../../src/cli/ctl/why.ts';
import { graphDot, graphText } from '../../src/cli/ctl/graph.ts';
import { age, statusJson, statusTable } from '../../src/cli/ctl/status-table.ts';

const space = (text: string) => parseAll(text) as Assertion[];

const world = space(`
  <require-service <daemon web>> <run-service <daemon db>> <require-service <daemon db>>
  <depends-on <daemon web> <service-state <daemon db> ready>>
  <depends-on <daemon web> <default-route ipv4>>
  <service-state <daemon db> started>
  <service-state-since <daemon db> started "2026-11-23T10:00:00.000+00:00">
  <daemon-status <daemon db> {pid: 42, restarts: 3, lastExit: "exit code 1"}>
  <require-service <a>> <require-service <b>>
  <depends-on <a> <service-state <b> up>> <depends-on <b> <service-state <a> up>>
  <service-state <milestone core> ready> <service-state <milestone core> started> <service-state <milestone core> up>
`);

test('the model gathers states, dependencies and process details per service', () => {
  const m = buildServiceModel(world);
  assert.equal(displayState(m.get('<daemon db>')!), 'started');
  assert.equal(displayState(m.get('<daemon web>')!), 'waiting');
  assert.equal(displayState(m.get('<milestone core>')!), 'ready');
  assert.equal(m.get('<daemon db>')!.status!.pid, 42);
  assert.deepEqual(m.get('<daemon web>')!.dependsOn.map((d) => [d.dependee ?? d.text, d.holds]), [['<daemon db>', false], ['<default-route ipv4>', false]]);
});

test('why names each unmet dependency with the dependee\'s state, restarts and cycles', () => {
  const m = buildServiceModel(world);
  assert.deepEqual(explain(m, '<daemon web>'), [
    '<daemon web>: waiting',
    '  waits for <daemon db> to be ready (now: started)',
    '  waits for <default-route ipv4> to be asserted',
  ]);
  assert.deepEqual(explain(m, '<daemon db>').slice(1), ['  pid 42', '  restarts: 3', '  last exit: exit code 1']);
  assert.deepEqual(cyclesThrough(m, '<a>'), [['<a>', '<b>', '<a>']]);
  assert.ok(explain(m, '<a>').includes('  dependency cycle: <a> -> <b> -> <a>'));
  assert.match(explain(m, '<nope>')[0], /no such service/);
});

test('status table, JSON and graphs', () => {
  const m = buildServiceModel(world);
  const now = Date.parse('2026-11-23T10:03:05Z');
  const lines = statusTable(m, false, now);
  assert.equal(lines[0], 'SERVICE           STATE    FOR   PID  RESTARTS  LAST EXIT');
  assert.ok(lines.includes('<daemon db>       started  3m5s  42   3         exit code 1'), lines.join('\n'));
  const json = statusJson(m) as { service: string; state: string }[];
  assert.deepEqual(json.find((j) => j.service === '<daemon web>')!.state, 'waiting');
  assert.ok(graphText(m).includes('<daemon web> [waiting] -> <daemon db> (ready)  (unmet)'));
  assert.match(graphDot(m), /"<daemon web>" -> "<daemon db>" \[label="ready", style=dashed, color=red\];/);
  assert.equal(age(undefined), '-');
  assert.match(statusTable(m, true, now)[1], /\x1b\[/);
});

test('why: plain wording, restart count and the next attempt, all cycles once', async () => {
  const { allCycles } = await import('../../src/cli/ctl/why.ts');
  const m = buildServiceModel(space(`
    <require-service <daemon sshd>> <run-service <daemon sshd>>
    <depends-on <daemon sshd> <service-state <milestone network> up>> <service-state <milestone network> up>
    <service-state <daemon sshd> failed> <service-error <daemon sshd> "command not found">
    <daemon-status <daemon sshd> {pid: #f, restarts: 4, since: "2026-11-23T10:00:00.000+00:00", lastExit: "exit code 127", nextAttempt: "2026-11-23T10:00:16.000+00:00"}>
    <run-service <daemon solo>>
    <require-service <a>> <require-service <b>> <require-service <c>>
    <depends-on <a> <service-state <b> up>> <depends-on <b> <service-state <c> up>> <depends-on <c> <service-state <a> up>>
  `));
  assert.deepEqual(explain(m, '<daemon sshd>'), [
    '<daemon sshd>: failed',
    '  its one dependency holds: <milestone network>',
    '  failed: command not found',
    '  restarts: 4; next attempt at 2026-11-23T10:00:16.000+00:00',
    '  last exit: exit code 127',
  ]);
  assert.equal(explain(m, '<daemon solo>')[0], '<daemon solo>: starting (run directly, not through require-service)');
  assert.deepEqual(allCycles(m), [['<a>', '<b>', '<c>', '<a>']]);
  assert.ok(graphText(m).includes('<a> [waiting] -> <b> (up)  (unmet)  (cycle)'), graphText(m).join('\n'));
  assert.match(graphDot(m), /"<c>" -> "<a>" \[label="up", penwidth=2, color=orange\];/);
  assert.equal((statusJson(m) as { service: string; nextAttempt: string | null }[]).find((s) => s.service === '<daemon sshd>')!.nextAttempt, '2026-11-23T10:00:16.000+00:00');
});
