// Assertions an operator makes with syndicate-ctl (start, stop, assert) that must outlive the
// ctl process: kept as script files in a folder the bus watches, one file per assertion,
// named after the SHA-1 of its canonical form (as Synit's user settings are), written atomically.
import { createHash } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { canonicalEncode, record } from '../preserves/index.ts';
import { P, log, type Assertion, type Ref, type Turn } from '../bus/index.ts';
import { scriptAsserting } from '../config-lang/script-literal.ts';

/** `<ctl-persist VALUE>`: keep VALUE asserted in the config dataspace until unpersisted. */
export const persist = (v: Assertion): Assertion => record('ctl-persist', v);
/** `<ctl-unpersist VALUE>`: withdraw a kept VALUE. */
export const unpersist = (v: Assertion): Assertion => record('ctl-unpersist', v);

/** The file that keeps `v`. */
export function storeFile(dir: string, v: Assertion): string {
  return path.join(dir, createHash('sha1').update(canonicalEncode(v)).digest('hex') + '.pr');
}

/** Handles persist/unpersist messages at `config` in the active facet, storing files in `dir`. */
export function startControlStore(t: Turn, config: Ref, dir: string): void {
  const fail = (what: string, e: unknown) => log({ level: 'error', actor: 'control-store', message: `${what}: ${(e as Error).message}` });
  t.onMessage(config, P.rec('ctl-persist', P.bind()), (_t, [v]) => {
    let text: string;
    try {
      text = scriptAsserting(v);
    } catch (e) {
      fail('cannot keep assertion', e);
      return;
    }
    const file = storeFile(dir, v);
    const tmp = path.join(dir, '.' + path.basename(file) + '.tmp');
    void mkdir(dir, { recursive: true })
      .then(() => writeFile(tmp, text))
      .then(() => rename(tmp, file))
      .catch((e) => fail('cannot write ' + file, e));
  });
  t.onMessage(config, P.rec('ctl-unpersist', P.bind()), (_t, [v]) => {
    void rm(storeFile(dir, v), { force: true }).catch((e) => fail('cannot remove kept assertion', e));
  });
}
