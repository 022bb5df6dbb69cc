// Assertions an operator makes with syndicate-ctl (start, stop, assert) that must outlive the
// ctl process. The store asserts each kept value itself, at once, and keeps it beside as a file
// `STATE/ctl/SHA1.value` holding the value in Preserves text (read back as data, never as a
// script, so any value loads back exactly). A request is acknowledged only once its file is
// durable (temp, fsync, rename, fsync folder); requests on one value are applied in order.
// Files `SHA1.pr` of the earlier script format are still loaded by the watcher on this folder
// and removed by an unpersist of their value.
import { mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { Dictionary, Embedded, KeyedSet, Record, is, parse, peel, record, strip, stringify } from '../preserves/index.ts';
import { P, log, type Assertion, type Handle, type Ref, type Turn } from '../bus/index.ts';
import {
  assertionFileName, ensurePrivateDir, isTempFile, removeFileDurable, writeFileDurable,
} from '../config-lang/durable-file.ts';

/** Suffix of the files this store writes. */
const SUFFIX = '.value';

/**
 * `<ctl-persist VALUE>` (message) or `<ctl-persist VALUE #:reply>` (assertion, held until the
 * answer): keep VALUE asserted in the config dataspace until unpersisted. `reply` gets the
 * message `<ctl-ok CHANGED>` once the request is durable, or `<ctl-error "why">`.
 */
export const persist = (v: Assertion, reply?: Ref): Assertion =>
  reply === undefined ? record('ctl-persist', v) : record('ctl-persist', v, new Embedded<Ref>(reply));
/** `<ctl-unpersist VALUE [#:reply]>`: withdraw a kept VALUE; `<ctl-ok #f>` if it was not kept. */
export const unpersist = (v: Assertion, reply?: Ref): Assertion =>
  reply === undefined ? record('ctl-unpersist', v) : record('ctl-unpersist', v, new Embedded<Ref>(reply));

/** What the store answers to a request. */
export type StoreReply = { ok: true; changed: boolean } | { ok: false; error: string };

/** Reads a reply message of the store (null if it is not one). */
export function parseStoreReply(v: Assertion): StoreReply | null {
  const r = peel(v);
  if (!(r instanceof Record) || r.fields.length !== 1) return null;
  const f = peel(r.fields[0]);
  if (r.hasLabel('ctl-ok') && typeof f === 'boolean') return { ok: true, changed: f };
  if (r.hasLabel('ctl-error') && typeof f === 'string') return { ok: false, error: f };
  return null;
}

/** The file that keeps `v`. */
export function storeFile(dir: string, v: Assertion): string {
  return path.join(dir, assertionFileName(v).replace(/\.pr$/, SUFFIX));
}

/** The file content for `v`: its Preserves text (annotations dropped), one line. */
export function encodeKept(v: Assertion): string {
  return stringify(strip(v)) + '\n';
}

/** The value a kept file holds. */
export function decodeKept(text: string): Assertion {
  return parse(text) as Assertion;
}

function holdsRef(v: Assertion): boolean {
  const x = peel(v);
  if (x instanceof Embedded) return true;
  if (x instanceof Record) return holdsRef(x.label as Assertion) || x.fields.some((f) => holdsRef(f as Assertion));
  if (Array.isArray(x)) return x.some((y) => holdsRef(y as Assertion));
  if (x instanceof KeyedSet) return [...x].some((y) => holdsRef(y as Assertion));
  if (x instanceof Dictionary) return [...x].some(([k, y]) => holdsRef(k as Assertion) || holdsRef(y as Assertion));
  return false;
}

/** Handles persist/unpersist messages at `config` in the active facet, keeping files in `dir`. */
export function startControlStore(t: Turn, config: Ref, dir: string): void {
  const facet = t.activeFacet;
  const kept = new Map<string, { value: Assertion; handle: Handle }>();
  const fail = (message: string) => log({ level: 'error', actor: 'control-store', message });
  const release = t.preventInertCheck();
  // Every operation on one file waits for the previous one: an assert then retract of the same
  // value ends retracted on disk too. All wait for the initial load.
  const queues = new Map<string, Promise<void>>();
  const loaded = load();
  const enqueue = (file: string, op: () => Promise<void>): void => {
    const next = (queues.get(file) ?? loaded).then(op, op);
    queues.set(file, next);
    void next.finally(() => { if (queues.get(file) === next) queues.delete(file); });
  };
  const answer = (reply: Ref | undefined, r: StoreReply): void => {
    if (reply === undefined) return;
    facet.turn((t) => t.message(reply, r.ok ? record('ctl-ok', r.changed) : record('ctl-error', r.error)));
  };

  // Loaded in the boot turn, synchronously: an operator's hold must be in place before the
  // dependency tracker could start what it holds down.
  function load(): Promise<void> {
    try {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const names = readdirSync(dir);
      for (const n of names) if (isTempFile(n)) rmSync(path.join(dir, n), { force: true });
      for (const n of names.filter((n) => n.endsWith(SUFFIX) && !n.startsWith('.'))) {
        const file = path.join(dir, n);
        try {
          const v = decodeKept(readFileSync(file, 'utf8'));
          kept.set(file, { value: v, handle: t.assert(config, v) });
        } catch (e) {
          fail(`${file}: cannot load kept assertion: ${(e as Error).message}`);
        }
      }
    } catch (e) {
      fail(`${dir}: cannot load kept assertions: ${(e as Error).message}`);
    }
    // The folder's mode is narrowed off the boot turn; requests wait for it.
    return ensurePrivateDir(dir).then(() => undefined, (e: Error) => fail(`${dir}: ${e.message}`));
  }

  const replyOf = (r: unknown): Ref | undefined => {
    const e = r === undefined ? undefined : peel(r as Assertion);
    return e instanceof Embedded ? (e.value as Ref) : undefined;
  };

  t.onMessage(config, P.rec('ctl-persist', P.bind()), (t, [v]) => handlePersist(t, v, undefined));
  // With a reply ref the request is an assertion, not a message: a ref that travels only in a
  // message would be dropped by the relay before the answer could use it.
  t.observe(config, P.rec('ctl-persist', P.bind(), P.bind()), { added: (t, [v, r]) => handlePersist(t, v, replyOf(r)) });
  t.onMessage(config, P.rec('ctl-unpersist', P.bind()), (t, [v]) => handleUnpersist(t, v, undefined));
  t.observe(config, P.rec('ctl-unpersist', P.bind(), P.bind()), { added: (t, [v, r]) => handleUnpersist(t, v, replyOf(r)) });
  t.onRelease(release);

  function handlePersist(t: Turn, v: Assertion, reply: Ref | undefined): void {
    if (holdsRef(v)) {
      answer(reply, { ok: false, error: 'a value holding a ref cannot be kept' });
      return;
    }
    const file = storeFile(dir, v);
    const fresh = !kept.has(file);
    // Asserted at once; the file follows, and the acknowledgement waits for it.
    if (fresh) kept.set(file, { value: v, handle: t.assert(config, v) });
    enqueue(file, async () => {
      try {
        if (fresh) await writeFileDurable(file, encodeKept(v));
        answer(reply, { ok: true, changed: fresh });
      } catch (e) {
        const message = `cannot keep ${stringify(strip(v))} in ${file}: ${(e as Error).message}`;
        fail(message);
        facet.turn((t) => {
          const k = kept.get(file);
          if (k !== undefined && is(k.value, v)) {
            t.retract(k.handle);
            kept.delete(file);
          }
        });
        answer(reply, { ok: false, error: message });
      }
    });
  }

  function handleUnpersist(t: Turn, v: Assertion, reply: Ref | undefined): void {
    const file = storeFile(dir, v);
    const legacy = file.slice(0, -SUFFIX.length) + '.pr';
    const k = kept.get(file);
    if (k !== undefined) {
      t.retract(k.handle);
      kept.delete(file);
    }
    enqueue(file, async () => {
      try {
        const { access } = await import('node:fs/promises');
        const hadLegacy = await access(legacy).then(() => true, () => false);
        if (k !== undefined) await removeFileDurable(file);
        if (hadLegacy) await removeFileDurable(legacy);
        answer(reply, { ok: true, changed: k !== undefined || hadLegacy });
      } catch (e) {
        const message = `cannot remove ${file}: ${(e as Error).message}`;
        fail(message);
        answer(reply, { ok: false, error: message });
      }
    });
  }
}
