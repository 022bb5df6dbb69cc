// How syndicate-ctl reaches the config dataspace of a bus and knows it did. The bus asserts
// `<syndicate-server {pid: N, state: "DIR"}>` in its config dataspace (the mark ctl looks for),
// binds a sturdy ref to that dataspace with a fresh key at each start, and writes the ref to
// `STATE/control.ref` (0600). The control socket exports the config dataspace directly; through a
// `-s`/`-p` listener (a gatekeeper) ctl resolves the ref, which only who can read the file holds.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Dictionary, Embedded, Record, parse, peel, stringify, sym } from '../preserves/index.ts';
import type { Assertion, Ref, Turn } from '../bus/index.ts';
import { writeFileDurable } from '../config-lang/durable-file.ts';
import { bind } from '../relay/gatekeeper-protocol.ts';
import { sturdyDescriptionToValue, sturdyRefFor, sturdyRefToValue } from '../relay/sturdy.ts';
import { CONTROL_REF } from './state-dir.ts';

/** The label of the mark a bus asserts in its config dataspace. */
export const BUS_MARK = 'syndicate-server';
/** The OID of the control ref. */
const CONTROL_OID = sym('syndicate-control');

/** What a bus says of itself. */
export interface BusInfo {
  readonly pid: number | null;
  readonly state: string | null;
}

/** Reads the mark's detail. */
export function parseBusInfo(detail: Assertion): BusInfo {
  const d = peel(detail);
  const get = (k: string) => (d instanceof Dictionary ? peel(d.get(sym(k)) as Assertion) : undefined);
  const pid = get('pid');
  const state = get('state');
  return { pid: typeof pid === 'number' ? pid : null, state: typeof state === 'string' ? state : null };
}

/**
 * Asserts the mark and binds the control ref in `config`, then writes the ref to
 * `STATE/control.ref`; resolves once the file is durable.
 */
export function publishControlRef(t: Turn, config: Ref, stateDir: string): Promise<void> {
  const info = new Dictionary<Ref>();
  info.set(sym('pid'), process.pid);
  info.set(sym('state'), stateDir);
  t.assert(config, new Record<Ref>(sym(BUS_MARK), [info]));
  const desc = { oid: CONTROL_OID, key: new Uint8Array(randomBytes(16)) };
  t.assert(config, bind<Ref>(sturdyDescriptionToValue<Ref>(desc), new Embedded<Ref>(config)));
  return writeFileDurable(path.join(stateDir, CONTROL_REF), stringify(sturdyRefToValue(sturdyRefFor(desc))) + '\n');
}

const nodeRequire = createRequire(import.meta.url);

/** The control ref kept in `stateDir`, or null when it cannot be read. */
export async function readControlRef(stateDir: string): Promise<Record<Ref> | null> {
  try {
    // Loaded here, synchronously (the CommonJS bundle of ctl holds no import()): syndicate-ctl
    // imports this file, and node:fs/promises at start costs it ~5 ms.
    const { readFile } = nodeRequire('node:fs/promises') as typeof import('node:fs/promises');
    const v = peel(parse(await readFile(path.join(stateDir, CONTROL_REF), 'utf8')));
    return v instanceof Record ? (v as Record<Ref>) : null;
  } catch {
    return null;
  }
}
