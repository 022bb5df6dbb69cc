import { type Value, Dictionary, peel, stringify } from '../preserves/index.ts';

const KNOWN = ['service', 'pid', 'stream', 'line'];

/** Strings print as themselves (without a trailing newline); anything else in Preserves text. */
function show(v: Value<unknown> | undefined): string {
  if (v === undefined) return '-';
  const p = peel(v);
  if (typeof p === 'string') return p.replace(/\r?\n$/, '');
  try {
    return stringify(p);
  } catch {
    return '#:…';
  }
}

/**
 * One readable line for a `<log TIMESTAMP {...}>` message: time, service[pid], stream, text,
 * then any other keys as `key=value`.
 */
export function formatLogLine(timestamp: Value<unknown>, details: Value<unknown>): string {
  const d = peel(details);
  if (!(d instanceof Dictionary)) return `${show(timestamp)} - - ${show(d)}`;
  const get = (k: string) => d.get(Symbol.for(k)) as Value<unknown> | undefined;
  const pid = get('pid');
  let s = `${show(timestamp)} ${show(get('service'))}${pid !== undefined ? `[${show(pid)}]` : ''} ${show(get('stream'))}: ${show(get('line'))}`;
  for (const [k, v] of d) {
    const name = typeof k === 'symbol' ? k.description ?? '' : show(k);
    if (typeof k === 'symbol' && KNOWN.includes(name)) continue;
    s += ` ${name}=${show(v)}`;
  }
  return s;
}
