import type { Value } from './value.ts';
import { Double } from './double.ts';
import { Bytes } from './bytes.ts';
import { Record } from './record.ts';
import { KeyedSet } from './keyed-set.ts';
import { Dictionary } from './dictionary.ts';
import { Embedded } from './embedded.ts';
import { Annotated } from './annotated.ts';
import { EncodeError } from './errors.ts';
import { sortedEntries, sortedMembers } from './compare.ts';
import { MAX_TEXT_INTEGER_DIGITS, classifyBareWord, isSymbolChar } from './text-reader.ts';

/** Options for text output. */
export interface TextWriterOptions<T> {
  /** Break compounds over lines with this many spaces of indent (default: compact, one line). */
  indent?: number;
  /** Write annotations (default true). */
  includeAnnotations?: boolean;
  /** Turns an embedded payload into the Value written after `#:`. */
  embeddedEncode?: (payload: T) => Value<any>;
  /** Lines longer than this are broken when indenting (default 80). */
  width?: number;
}

/** True when a symbol can be written bare (not `|quoted|`). */
export function isBareSymbol(name: string): boolean {
  if (name.length === 0) return false;
  for (const ch of name) if (!isSymbolChar(ch)) return false;
  return classifyBareWord(name) === 'sym';
}

function escapeText(s: string, q: string): string {
  let out = '';
  let run = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    let e: string | null = null;
    if (c === 92) e = '\\\\';
    else if (c === q.charCodeAt(0)) e = '\\' + q;
    else if (c < 0x20 || c === 0x7f) {
      e = c === 8 ? '\\b' : c === 12 ? '\\f' : c === 10 ? '\\n' : c === 13 ? '\\r' : c === 9 ? '\\t'
        : '\\u' + c.toString(16).padStart(4, '0');
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const cp = s.codePointAt(i)!;
      if (cp < 0x10000) throw new EncodeError('string holds a lone surrogate');
      i++;
      continue;
    }
    if (e !== null) {
      out += s.slice(run, i) + e;
      run = i + 1;
    }
  }
  return out + s.slice(run);
}

/** Text for a double: always with `.` or an exponent; `#xd"…"` for NaN and infinities. */
export function formatDouble(d: Double): string {
  const n = d.value;
  if (!Number.isFinite(n)) return '#xd"' + new Bytes(d.toBytes()).toHex() + '"';
  if (Object.is(n, -0)) return '-0.0';
  const s = String(n);
  return /[.e]/.test(s) ? s : s + '.0';
}

function formatBytes(b: Bytes): string {
  let printable = true;
  for (const c of b.bytes) if (c < 0x20 || c > 0x7e) { printable = false; break; }
  if (!printable) return '#x"' + b.toHex() + '"';
  let s = '#"';
  for (const c of b.bytes) s += c === 34 ? '\\"' : c === 92 ? '\\\\' : String.fromCharCode(c);
  return s + '"';
}

const LOG10_2 = Math.log10(2);

/** Decimal text of a bigint, refused past MAX_TEXT_INTEGER_DIGITS before the slow conversion. */
function formatBigint(v: bigint): string {
  // At least this many digits: |v| >= 16^(hex digits - 1). toString(16) is linear.
  const hexDigits = (v < 0n ? -v : v).toString(16).length;
  if (Math.floor((hexDigits - 1) * 4 * LOG10_2) + 1 > MAX_TEXT_INTEGER_DIGITS) {
    throw new EncodeError('integer of more than ' + MAX_TEXT_INTEGER_DIGITS + ' digits has no text form here (use binary)');
  }
  const s = String(v);
  if (s.length - (v < 0n ? 1 : 0) > MAX_TEXT_INTEGER_DIGITS) {
    throw new EncodeError('integer of more than ' + MAX_TEXT_INTEGER_DIGITS + ' digits has no text form here (use binary)');
  }
  return s;
}

/** Writes Preserves values in text syntax. */
export class TextWriter<T = unknown> {
  private readonly indent: number;
  private readonly width: number;
  private readonly annotations: boolean;
  private readonly embeddedEncode: ((payload: T) => Value<any>) | undefined;

  constructor(options: TextWriterOptions<T> = {}) {
    this.indent = options.indent ?? 0;
    this.width = options.width ?? 80;
    this.annotations = options.includeAnnotations ?? true;
    this.embeddedEncode = options.embeddedEncode;
  }

  /** The text of one value. */
  format(v: Value<T>): string {
    return this.indent > 0 ? this.pretty(v, 0) : this.compact(v);
  }

  private atom(v: Value<T>): string | null {
    switch (typeof v) {
      case 'boolean': return v ? '#t' : '#f';
      case 'number':
        if (!Number.isSafeInteger(v)) throw new EncodeError('not an integer: ' + v + ' (use Double)');
        return String(v);
      case 'bigint': return formatBigint(v);
      case 'string': return '"' + escapeText(v, '"') + '"';
      case 'symbol': {
        const n = v.description!;
        return isBareSymbol(n) ? n : '|' + escapeText(n, '|') + '|';
      }
    }
    if (v instanceof Double) return formatDouble(v);
    if (v instanceof Bytes) return formatBytes(v);
    return null;
  }

  private embeddedPayload(e: Embedded<T>): Value<T> {
    if (e.generic) return e.value as Value<T>;
    if (this.embeddedEncode) return this.embeddedEncode(e.value) as Value<T>;
    throw new EncodeError('cannot write an embedded value without an embeddedEncode function');
  }

  /** Parts of a compound: opener, children, closer, and how children are joined. */
  private parts(v: Value<T>): { open: string; items: Value<T>[]; pairs: boolean; close: string } | null {
    if (Array.isArray(v)) return { open: '[', items: v, pairs: false, close: ']' };
    if (v instanceof Record) return { open: '<', items: [v.label, ...v.fields], pairs: false, close: '>' };
    if (v instanceof KeyedSet) return { open: '#{', items: sortedMembers(v), pairs: false, close: '}' };
    if (v instanceof Dictionary) return { open: '{', items: sortedEntries(v).flat(), pairs: true, close: '}' };
    return null;
  }

  private prefix(v: Annotated<T>, inner: (x: Value<T>) => string): string {
    if (!this.annotations) return inner(v.item);
    let s = '';
    for (const a of v.annotations) s += '@' + inner(a) + ' ';
    return s + inner(v.item);
  }

  private compact(v: Value<T>): string {
    const a = this.atom(v);
    if (a !== null) return a;
    if (v instanceof Annotated) return this.prefix(v, (x) => this.compact(x));
    if (v instanceof Embedded) return '#:' + this.compact(this.embeddedPayload(v));
    const p = this.parts(v)!;
    if (!p) throw new EncodeError('not a Preserves value: ' + String(v));
    if (p.pairs) {
      const out: string[] = [];
      for (let i = 0; i < p.items.length; i += 2) out.push(this.compact(p.items[i]) + ': ' + this.compact(p.items[i + 1]));
      return p.open + out.join(', ') + p.close;
    }
    return p.open + p.items.map((x) => this.compact(x)).join(' ') + p.close;
  }

  /**
   * The compact text of `v` if it is at most `budget` characters, else null, giving up as soon
   * as it is longer: the indenter asks this at every level, and a full `compact` there cost
   * size × depth.
   */
  private within(v: Value<T>, budget: number): string | null {
    if (budget < 0) return null;
    switch (typeof v) {
      case 'string': if (v.length + 2 > budget) return null; break;
      case 'symbol': if (v.description!.length > budget) return null; break;
      case 'bigint':
        if (budget < 4096) {
          const limit = 10n ** BigInt(budget);
          if (v >= limit || v <= -limit) return null;
        }
        break;
    }
    if (v instanceof Bytes && v.length + 3 > budget) return null;
    const a = this.atom(v);
    if (a !== null) return a.length <= budget ? a : null;
    if (v instanceof Annotated) {
      if (!this.annotations) return this.within(v.item, budget);
      let s = '';
      for (const x of v.annotations) {
        const t = this.within(x, budget - s.length - 2);
        if (t === null) return null;
        s += '@' + t + ' ';
      }
      const t = this.within(v.item, budget - s.length);
      return t === null ? null : s + t;
    }
    if (v instanceof Embedded) {
      const t = this.within(this.embeddedPayload(v), budget - 2);
      return t === null ? null : '#:' + t;
    }
    const p = this.parts(v);
    if (!p) throw new EncodeError('not a Preserves value: ' + String(v));
    let s = p.open;
    for (let i = 0; i < p.items.length; i++) {
      const sep = i === 0 ? '' : p.pairs ? (i % 2 === 1 ? ': ' : ', ') : ' ';
      const t = this.within(p.items[i], budget - s.length - sep.length - p.close.length);
      if (t === null) return null;
      s += sep + t;
    }
    s += p.close;
    return s.length <= budget ? s : null;
  }

  private pretty(v: Value<T>, level: number): string {
    const flat = this.within(v, this.width - level * this.indent);
    if (flat !== null) return flat;
    if (this.atom(v) !== null) return this.compact(v);
    if (v instanceof Annotated) return this.prefix(v, (x) => this.pretty(x, level));
    if (v instanceof Embedded) return '#:' + this.pretty(this.embeddedPayload(v), level);
    const p = this.parts(v);
    if (!p) return this.compact(v);
    const pad = '\n' + ' '.repeat((level + 1) * this.indent);
    let s = p.open;
    if (p.pairs) {
      for (let i = 0; i < p.items.length; i += 2) {
        s += pad + this.pretty(p.items[i], level + 1) + ': ' + this.pretty(p.items[i + 1], level + 1);
      }
    } else if (v instanceof Record) {
      // Keep the label on the opening line, as people write records.
      s += this.pretty(p.items[0], level + 1);
      for (let i = 1; i < p.items.length; i++) s += pad + this.pretty(p.items[i], level + 1);
    } else {
      for (const x of p.items) s += pad + this.pretty(x, level + 1);
    }
    return s + '\n' + ' '.repeat(level * this.indent) + p.close;
  }
}

/** Text for one value: compact, or indented when `indent` is given. */
export function stringify<T>(v: Value<T>, options: TextWriterOptions<T> = {}): string {
  return new TextWriter<T>(options).format(v);
}
