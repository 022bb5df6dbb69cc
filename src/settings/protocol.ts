// The records of the user-settings protocol (spec synit.md §5), declared once: constructors,
// patterns and parsers. Synit's schema gives the first four; the last three are ours.
import { Embedded, Record, holdsEmbedded, peel, sym, type Value } from '../preserves/index.ts';
import { P, isRef, type Assertion, type Pattern, type Ref } from '../bus/index.ts';

const $command = sym('user-settings-command'), $setting = sym('user-setting');
const $assert = sym('assert'), $retract = sym('retract'), $error = sym('error');
const $folder = sym('user-settings-folder'), $problem = sym('user-settings-problem');

/** What a command asks for: keep ITEM as a setting, or drop it. */
export interface SettingsAction {
  readonly kind: 'assert' | 'retract';
  readonly item: Assertion;
}

/** Constructors for the protocol's records. */
export const Settings = {
  /** `<user-settings-command ACTION #:reply>` (asserted) or `<user-settings-command ACTION>` (a message). */
  command: (action: SettingsAction, reply?: Ref): Assertion => new Record<Ref>($command, [
    new Record<Ref>(action.kind === 'assert' ? $assert : $retract, [action.item]),
    ...(reply === undefined ? [] : [new Embedded<Ref>(reply)]),
  ]),
  /** `<user-setting ITEM>`: how the settings folder's watcher publishes each file. */
  setting: (item: Assertion): Assertion => new Record<Ref>($setting, [item]),
  /** `done`, asserted at the reply ref once the change is on disk. */
  done: sym('done') as Assertion,
  /** `<error "MESSAGE">` at the reply ref when the change could not be made (our addition). */
  error: (message: string): Assertion => new Record<Ref>($error, [message]),
  /** `<user-settings-folder "PATH">`: where the daemon keeps the settings (our addition). */
  folder: (dir: string): Assertion => new Record<Ref>($folder, [dir]),
  /** `<user-settings-problem "PATH" "MESSAGE">`: a file that is not published, and why (our addition). */
  problem: (file: string, message: string): Assertion => new Record<Ref>($problem, [file, message]),
};

/** Patterns over the protocol's records. */
export const SettingsPattern = {
  rpc: (action: Pattern, reply: Pattern): Pattern => P.rec($command, action, reply),
  event: (action: Pattern): Pattern => P.rec($command, action),
  setting: (item: Pattern): Pattern => P.rec($setting, item),
  folder: (dir: Pattern): Pattern => P.rec($folder, dir),
  problem: (file: Pattern, message: Pattern): Pattern => P.rec($problem, file, message),
  error: (message: Pattern): Pattern => P.rec($error, message),
};

/** Raised for a command that is not `<assert ITEM>` / `<retract ITEM>`, or an ITEM that cannot be kept in a file. */
export class SettingsCommandError extends Error {}

/** Parses the ACTION of a command; throws `SettingsCommandError` naming what is wrong. */
export function parseAction(v: Value<unknown>): SettingsAction {
  const a = peel(v);
  if (!(a instanceof Record) || a.fields.length !== 1 || !(a.hasLabel('assert') || a.hasLabel('retract'))) {
    throw new SettingsCommandError('the action must be <assert ITEM> or <retract ITEM>');
  }
  const item = a.fields[0] as Assertion;
  if (holdsEmbedded(item)) throw new SettingsCommandError('a setting cannot hold a reference (#:...)');
  return { kind: a.hasLabel('assert') ? 'assert' : 'retract', item };
}

/** The reply ref of an RPC, or null when the field is not a ref. */
export function replyRef(v: Value<unknown>): Ref | null {
  const e = peel(v);
  return e instanceof Embedded && isRef(e.value) ? e.value : null;
}

