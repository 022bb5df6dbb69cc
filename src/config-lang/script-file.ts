import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DecodeError, TextReader } from '../preserves/index.ts';
import type { Instruction, Token } from './instruction.ts';
import { parseScript } from './parser.ts';
import { ScriptError } from './script-error.ts';

/** A script as loaded from text: its instructions, or why it cannot run. */
export type LoadedScript =
  | { kind: 'ok'; path: string; instructions: Instruction[] }
  /** Unreadable as Preserves text: a watcher keeps the old version running. */
  | { kind: 'syntax-error'; path: string; errors: ScriptError[] }
  /** Readable, but not a valid script: a watcher removes the old version. */
  | { kind: 'parse-errors'; path: string; errors: ScriptError[] };

/** Reads the tokens of a script, with positions; embedded values are refused (spec §1.1). */
export function readTokens(text: string, name: string): Token[] {
  const r = new TextReader(text, {
    name,
    positions: true,
    embeddedDecode: () => { throw new DecodeError('embedded values are not allowed in scripts'); },
  });
  const out: Token[] = [];
  for (let v = r.next(); v !== undefined; v = r.next()) out.push(v);
  return out;
}

/** Parses script text into instructions, classifying any failure. */
export function loadScriptText(text: string, name: string): LoadedScript {
  let tokens: Token[];
  try {
    tokens = readTokens(text, name);
  } catch (e) {
    if (e instanceof DecodeError) return { kind: 'syntax-error', path: name, errors: [new ScriptError(e.detail, e.pos)] };
    throw e;
  }
  const { instructions, errors } = parseScript(tokens);
  return errors.length > 0 ? { kind: 'parse-errors', path: name, errors } : { kind: 'ok', path: name, instructions };
}

/** Reads and parses a script file. I/O errors count as syntax errors (the old version stays). */
export async function loadScriptFile(file: string): Promise<LoadedScript> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    return { kind: 'syntax-error', path: file, errors: [new ScriptError(`cannot read: ${(e as Error).message}`, null)] };
  }
  return loadScriptText(text, file);
}

/** Reads and parses a script file synchronously: many small files load faster this way. */
export function loadScriptFileSync(file: string): LoadedScript {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    return { kind: 'syntax-error', path: file, errors: [new ScriptError(`cannot read: ${(e as Error).message}`, null)] };
  }
  return loadScriptText(text, file);
}

/** The directory of a script, as the `scriptdir` expression gives it. */
export function scriptDir(file: string): string {
  return path.dirname(file) || '.';
}
