// One setting, one file: the name is the SHA-1 of the item's canonical binary form, the content
// a config script that asserts exactly the item, so the folder's config watcher publishes it.
import { Dictionary, KeyedSet, Record, peel, stringify, symbolName } from '../preserves/index.ts';
import type { Assertion, Ref } from '../bus/index.ts';
import { assertionFileName } from '../config-lang/durable-file.ts';
import { loadScriptText } from '../config-lang/script-file.ts';
import { instantiate } from '../config-lang/template.ts';
import { ScriptError } from '../config-lang/script-error.ts';

/** The file name that keeps `item` (lowercase hex SHA-1 of its canonical form, plus `.pr`). */
export function settingFileName(item: Assertion): string {
  return assertionFileName(item);
}

/**
 * The script text that asserts exactly `item`: records and dictionaries stand bare, other values
 * after `+=`; symbols the script language would read as `_`, `?x`, `$x` or `=x` are written as
 * literals (`=_`, `=?x`…), and a record that would read as an attenuation `<* A B>` gets `=*`.
 */
export function settingFileText(item: Assertion): string {
  const v = peel(item);
  const bare = v instanceof Record || v instanceof Dictionary;
  return (bare ? '' : '+= ') + stringify(literal(item)) + '\n';
}

function literal(item: Assertion): Assertion {
  const v = peel(item);
  if (typeof v === 'symbol') {
    const n = symbolName(v);
    return n === '_' || /^[?$=]/.test(n) ? Symbol.for('=' + n) : v;
  }
  if (v instanceof Record) {
    const label = v.hasLabel('*') && v.fields.length === 2 ? Symbol.for('=*') : literal(v.label as Assertion);
    return new Record<Ref>(label, v.fields.map((f) => literal(f as Assertion)));
  }
  if (Array.isArray(v)) return v.map((x) => literal(x as Assertion));
  if (v instanceof KeyedSet) {
    const s = new KeyedSet<Ref>();
    for (const x of v) s.add(literal(x as Assertion));
    return s;
  }
  if (v instanceof Dictionary) {
    const d = new Dictionary<Ref>();
    for (const [k, x] of v) d.set(literal(k as Assertion), literal(x as Assertion));
    return d;
  }
  return v as Assertion;
}

/** What a file in the settings folder holds: a setting, or why it is not one. */
export type SettingFileContent =
  | { readonly ok: true; readonly item: Assertion }
  | { readonly ok: false; readonly problem: string };

/**
 * Reads a settings file's text as the config watcher would run it: it is a setting when it is
 * exactly one assertion to `$config` with no variables, and `name` is that assertion's file name.
 * `file` is used in messages (`FILE:LINE:COLUMN: …` when a position is known).
 */
export function readSettingText(text: string, file: string, name: string): SettingFileContent {
  const bad = (problem: string): SettingFileContent => ({ ok: false, problem });
  const loaded = loadScriptText(text, file);
  if (loaded.kind !== 'ok') return bad(loaded.errors[0].message.startsWith(file) ? loaded.errors[0].message : `${file}: ${loaded.errors[0].message}`);
  const ins = loaded.instructions;
  if (ins.length !== 1 || ins[0].kind !== 'assert' || ins[0].target !== 'config') {
    return bad(`${file}: not a setting: a settings file holds exactly one value`);
  }
  let item: Assertion;
  try {
    item = instantiate(ins[0].template, new Map());
  } catch (e) {
    return bad(e instanceof ScriptError && e.pos !== null ? e.message : `${file}: ${(e as Error).message}`);
  }
  const expected = settingFileName(item);
  if (expected !== name) return bad(`${file}: the name is not the hash of the content (that would be ${expected})`);
  return { ok: true, item };
}
