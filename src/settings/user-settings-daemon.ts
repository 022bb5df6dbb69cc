// user-settings-daemon: a protocol daemon (spec synit.md §5). The bus hands its OID 0
// `{config: #:ref settingsDir: "PATH"}`; it then serves `<user-settings-command ACTION #:reply>`
// (answering `done` once the change is durable) and the message `<user-settings-command ACTION>`
// by writing and removing files in the settings folder.
import path from 'node:path';
import { Dictionary, Embedded, peel, sym } from '../preserves/index.ts';
import { P, isRef, showAssertion, type Assertion, type Facet, type Handle, type Ref, type Turn } from '../bus/index.ts';
import { serveStdio } from '../relay/client.ts';
import { Settings, SettingsPattern, parseAction, replyRef, type SettingsAction } from './protocol.ts';
import { SettingsStore } from './settings-store.ts';

/** The environment variable naming the bus's `--root`: absolute paths handed to us resolve under it. */
export const ROOT_ENV = 'SYNDICATE_ROOT';

/** The settings folder for a path the configuration names (moved under `$SYNDICATE_ROOT` when set). */
export function settingsFolder(dir: string, root = process.env[ROOT_ENV]): string {
  return root && path.isAbsolute(dir) ? path.join(root, dir) : path.resolve(dir);
}

function note(line: string): void {
  process.stderr.write(line + '\n');
}

/** What the bus hands us: the config dataspace and the folder, or why it cannot be used. */
function parseHello(v: Assertion): { config: Ref; dir: string } | string {
  const d = peel(v);
  if (!(d instanceof Dictionary)) return 'expected {config: #:ref settingsDir: "PATH"}';
  const c = peel(d.get(sym('config')) ?? false);
  const dir = peel(d.get(sym('settingsDir')) ?? false);
  if (!(c instanceof Embedded) || !isRef(c.value)) return 'config: expected a ref';
  if (typeof dir !== 'string' || dir === '') return 'settingsDir: expected a folder path (a string)';
  return { config: c.value, dir };
}

/** Serves one settings folder in the active facet (stopped when the bus withdraws the hello). */
function serve(t: Turn, config: Ref, dir: string): void {
  const facet: Facet = t.activeFacet;
  t.preventInertCheck();
  const problems = new Map<string, { message: string; handle: Handle }>();
  const store = new SettingsStore(dir, {
    problem: (p) => facet.turn((t) => {
      const old = problems.get(p.file);
      if (old?.message === p.message) return;
      note(p.message);
      problems.set(p.file, { message: p.message, handle: t.replace(config, old?.handle, Settings.problem(p.file, p.message))! });
    }),
    problemGone: (file) => facet.turn((t) => {
      t.retract(problems.get(file)?.handle);
      problems.delete(file);
    }),
    note,
  });
  t.onRelease(() => store.close());
  const opened = store.open();
  opened.catch((e: unknown) => {
    note(`${dir}: cannot use the settings folder: ${(e as Error).message}`);
    process.exit(1); // the bus restarts us; the folder may be fixed by then
  });
  const perform = (a: SettingsAction): Promise<void> => opened.then(() => (a.kind === 'assert' ? store.set(a.item) : store.unset(a.item)));
  // Announced once the folder is checked: private, no stale temps, misfits set aside.
  void opened.then(() => facet.turn((t) => void t.assert(config, Settings.folder(dir))), () => {});

  // RPCs: `done` (or `<error "why">`) at the reply ref for as long as the request stands.
  const answers = new Map<Handle, Handle | undefined>();
  const answer = (h: Handle, reply: Ref | null, value: Assertion) => facet.turn((t) => {
    if (!answers.has(h) || reply === null) return;
    answers.set(h, t.assert(reply, value));
  });
  t.observe(config, SettingsPattern.rpc(P.bind(), P.bind()), {
    added: (_t, [action, replyField], h) => {
      const reply = replyRef(replyField);
      answers.set(h, undefined);
      let a: SettingsAction;
      try {
        a = parseAction(action);
      } catch (e) {
        note(`refused ${showAssertion(action)}: ${(e as Error).message}`);
        answer(h, reply, Settings.error((e as Error).message));
        return;
      }
      perform(a).then(() => answer(h, reply, Settings.done), (e: unknown) => {
        note(`${a.kind} ${showItem(a)}: ${(e as Error).message}`);
        answer(h, reply, Settings.error((e as Error).message));
      });
    },
    removed: (t, _c, h) => {
      t.retract(answers.get(h));
      answers.delete(h);
    },
  });
  // Fire and forget: failures only reach the log.
  t.onMessage(config, SettingsPattern.event(P.bind()), (_t, [action]) => {
    let a: SettingsAction;
    try {
      a = parseAction(action);
    } catch (e) {
      note(`refused ${showAssertion(action)}: ${(e as Error).message}`);
      return;
    }
    perform(a).catch((e: unknown) => note(`${a.kind} ${showItem(a)}: ${(e as Error).message}`));
  });
}

function showItem(a: SettingsAction): string {
  return showAssertion(a.item);
}

/** Runs the daemon on stdin/stdout until the bus closes them. */
export async function run(): Promise<undefined> {
  const served = new Map<Handle, { facet: Facet; dir: string }>();
  await serveStdio((t) => t.ref({
    assert(t, v, h) {
      const hello = parseHello(v);
      if (typeof hello === 'string') {
        note(`ignoring what the bus handed over: ${hello}`);
        return;
      }
      const dir = settingsFolder(hello.dir);
      // Two servers of one folder would answer every request twice.
      if ([...served.values()].some((s) => s.dir === dir)) {
        note(`${dir}: already served; ignoring a second hand-over`);
        return;
      }
      served.set(h, { facet: t.facet((t) => serve(t, hello.config, dir)), dir });
    },
    retract(t, h) {
      const s = served.get(h);
      served.delete(h);
      if (s !== undefined) t.stop(s.facet);
    },
  }), { name: 'user-settings-daemon' });
  return undefined;
}
