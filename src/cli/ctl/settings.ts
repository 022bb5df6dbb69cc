// `syndicate-ctl settings list|set VALUE|unset VALUE`: user settings through user-settings-daemon.
// set/unset assert `<user-settings-command <assert|retract VALUE> #:reply>` in the config
// dataspace and return once the daemon answers `done` (the change is on disk) or `<error "why">`.
import path from 'node:path';
import { Record, peel } from '../../preserves/index.ts';
import { P, showAssertion, type Assertion, type Ref } from '../../bus/index.ts';
import { assertionFileName } from '../../config-lang/durable-file.ts';
import { Settings, SettingsPattern } from '../../settings/protocol.ts';
import { CtlFailure, snapshot, type BusConnection } from './connection.ts';

/** How `settings` was asked to run. */
export interface SettingsOptions {
  readonly json: boolean;
  /** How long set/unset wait for the daemon's answer. */
  readonly timeoutMs: number;
}

/** What the daemon answered, or that it did not. */
type Answer = { ok: true } | { ok: false; why: string };

/** Runs `settings list|set|unset`; returns the exit code, throws `CtlFailure` when the daemon refused or did not answer. */
export async function settingsCommand(conn: BusConnection, action: 'list' | 'set' | 'unset', item: Assertion | null, o: SettingsOptions, out: (l: string) => void): Promise<number> {
  if (action === 'list' || item === null) return list(conn, o, out);
  const folder = await folders(conn);
  const file = folder.length > 0 ? path.join(folder[0], assertionFileName(item)) : null;
  const answer = await ask(conn, action === 'set' ? 'assert' : 'retract', item, o.timeoutMs);
  const shown = showAssertion(item);
  if (o.json) {
    out(JSON.stringify({ action, item: shown, file, ok: answer.ok, ...(answer.ok ? {} : { error: answer.why }) }));
    return answer.ok ? 0 : 1;
  }
  if (!answer.ok) throw new CtlFailure(`settings ${action} ${shown}: ${answer.why}`);
  out(`${action} ${shown}${file === null ? '' : ` (${file})`}`);
  return 0;
}

/** Asserts the RPC and waits for `done`, `<error "why">` or the timeout; the request is withdrawn after. */
function ask(conn: BusConnection, kind: 'assert' | 'retract', item: Assertion, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => conn.turn((t, config) => {
    t.facet((t) => {
      const facet = t.activeFacet;
      let finished = false;
      const finish = (a: Answer) => {
        if (finished) return;
        finished = true;
        resolve(a);
        facet.turn((t) => t.stop(facet));
      };
      const reply: Ref = t.ref({
        assert: (_t, v) => {
          const x = peel(v);
          if (x === Settings.done) finish({ ok: true });
          else if (x instanceof Record && x.hasLabel('error') && typeof peel(x.fields[0]) === 'string') finish({ ok: false, why: peel(x.fields[0]) as string });
          else finish({ ok: false, why: `unexpected answer ${showAssertion(v)}` });
        },
      });
      t.assert(config, Settings.command({ kind, item }, reply));
      t.after(timeoutMs, () => finish({ ok: false, why: `no answer from user-settings-daemon within ${timeoutMs / 1000} s (is it running?)` }));
    });
  }));
}

async function folders(conn: BusConnection): Promise<string[]> {
  const present = await snapshot(conn, [SettingsPattern.folder(P.discard())]);
  return present.map((v) => (peel(v) as Record<Ref>).fields[0]).filter((d): d is string => typeof d === 'string').sort();
}

async function list(conn: BusConnection, o: SettingsOptions, out: (l: string) => void): Promise<number> {
  const present = await snapshot(conn, [SettingsPattern.setting(P.discard()), SettingsPattern.folder(P.discard()), SettingsPattern.problem(P.discard(), P.discard())]);
  const recs = present.map((v) => peel(v) as Record<Ref>);
  const folder = recs.filter((r) => r.hasLabel('user-settings-folder')).map((r) => r.fields[0] as string).sort()[0] ?? null;
  const settings = recs.filter((r) => r.hasLabel('user-setting')).map((r) => {
    const item = r.fields[0] as Assertion;
    return { item: showAssertion(item), file: folder === null ? null : path.join(folder, assertionFileName(item)) };
  }).sort((a, b) => (a.item < b.item ? -1 : a.item > b.item ? 1 : 0));
  const problems = recs.filter((r) => r.hasLabel('user-settings-problem'))
    .map((r) => ({ file: r.fields[0] as string, message: r.fields[1] as string }))
    .sort((a, b) => (a.file < b.file ? -1 : 1));
  if (o.json) {
    out(JSON.stringify({ folder, settings, problems }, null, 2));
  } else {
    if (folder === null) out('(no user-settings-daemon is serving a settings folder)');
    for (const s of settings) out(`${s.item}  ${s.file ?? ''}`.trimEnd());
    for (const p of problems) out(`problem: ${p.message}`);
  }
  return 0;
}
