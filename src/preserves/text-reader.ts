import type { Value } from './value.ts';
import { normInt } from './value.ts';
import { Double } from './double.ts';
import { Bytes } from './bytes.ts';
import { Record } from './record.ts';
import { KeyedSet } from './keyed-set.ts';
import { Dictionary } from './dictionary.ts';
import { Embedded } from './embedded.ts';
import { Annotated } from './annotated.ts';
import { DecodeError, EndOfInput, ShortInput, type Position } from './errors.ts';
import { DEFAULT_MAX_DEPTH, type ReaderOptions } from './binary-reader.ts';
import { decodeBase64 } from './base64.ts';

/** Options for the text reader. */
export interface TextReaderOptions<T> extends ReaderOptions<T> {
  /** Name of the source (a file path) for positions and errors. */
  name?: string;
  /** Wrap every value in `Annotated` carrying its source position (default false). */
  positions?: boolean;
}

const INT_RE = /^[+-]?[0-9]+$/;
const FLT_RE = /^[+-]?[0-9]+(?:\.[0-9]+(?:[eE][+-]?[0-9]+)?|[eE][+-]?[0-9]+)$/;
const WIDE_SYMBOL_CHAR = /[\p{L}\p{M}\p{N}\p{Pc}\p{Pd}\p{Po}\p{S}\p{Co}]/u;
const ASCII_SYMBOL_PUNCT = '~!$%^&*?_=+-/.';

/** True for a character that may appear in a bare symbol or number. */
export function isSymbolChar(ch: string): boolean {
  const c = ch.codePointAt(0)!;
  if (c < 0x80) {
    return (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || ASCII_SYMBOL_PUNCT.includes(ch);
  }
  return WIDE_SYMBOL_CHAR.test(ch);
}

/** How a bare word reads: as an integer, a double or a symbol. */
export function classifyBareWord(w: string): 'int' | 'flt' | 'sym' {
  return INT_RE.test(w) ? 'int' : FLT_RE.test(w) ? 'flt' : 'sym';
}

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

function isDelimiter(c: number): boolean {
  // whitespace < > [ ] { } # : " | @ ; ,
  return isWs(c) || c === 60 || c === 62 || c === 91 || c === 93 || c === 123 || c === 125 || c === 35 ||
    c === 58 || c === 34 || c === 124 || c === 64 || c === 59 || c === 44;
}

function hexVal(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** Marks a run of comments that annotate nothing (before a closer or the end). */
const NOTHING = Symbol('nothing');
type MaybeValue<T> = Value<T> | typeof NOTHING;

/**
 * The most decimal digits an integer may have in text, both ways. Decimal conversion is not
 * linear in V8 (a million digits: ~0.1 s to read, ~0.4 s to write; 2.5 million, a 1 MB binary
 * integer, 2.2 s to write), so text refuses more rather than freeze; binary has no such limit.
 */
export const MAX_TEXT_INTEGER_DIGITS = 1 << 20;

/** A text reader over a document holding any number of values. */
export class TextReader<T = unknown> {
  private readonly src: string;
  private pos = 0;
  private readonly name: string | undefined;
  private readonly annotations: boolean;
  private readonly positions: boolean;
  private readonly embeddedDecode: (v: Value<any>) => Embedded<T>;
  private readonly maxDepth: number;
  private lineStarts: number[] | null = null;

  constructor(text: string, options: TextReaderOptions<T> = {}) {
    this.src = text;
    this.name = options.name;
    this.annotations = options.includeAnnotations ?? false;
    this.positions = options.positions ?? false;
    this.embeddedDecode = options.embeddedDecode ?? ((v) => Embedded.generic<T>(v));
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** The line and column of an offset into the text. */
  positionAt(offset: number): Position {
    if (!this.lineStarts) {
      const ls = [0];
      for (let i = this.src.indexOf('\n'); i >= 0; i = this.src.indexOf('\n', i + 1)) ls.push(i + 1);
      this.lineStarts = ls;
    }
    const ls = this.lineStarts;
    let lo = 0, hi = ls.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (ls[mid] <= offset) lo = mid; else hi = mid - 1;
    }
    const p: Position = { line: lo + 1, column: offset - ls[lo] + 1, offset };
    if (this.name !== undefined) p.name = this.name;
    return p;
  }

  private fail(message: string, at = this.pos): never {
    throw new DecodeError(message, this.positionAt(at));
  }

  private short(): never {
    throw new ShortInput('unexpected end of input', this.positionAt(this.pos));
  }

  private peek(): number {
    if (this.pos >= this.src.length) this.short();
    return this.src.charCodeAt(this.pos);
  }

  private skipWs(): void {
    const s = this.src;
    while (this.pos < s.length && isWs(s.charCodeAt(this.pos))) this.pos++;
  }

  private skipWsAndCommas(): void {
    const s = this.src;
    for (;;) {
      const c = s.charCodeAt(this.pos);
      if (this.pos < s.length && (isWs(c) || c === 44)) this.pos++;
      else return;
    }
  }

  /** True once the text holds nothing more but whitespace. */
  atEnd(): boolean {
    this.skipWs();
    return this.pos >= this.src.length;
  }

  /** The next value, or `undefined` at the end of the text (trailing comments are allowed). */
  next(): Value<T> | undefined {
    this.skipWs();
    if (this.pos >= this.src.length) return undefined;
    const v = this.value(0);
    return v === NOTHING ? undefined : v;
  }

  /** Reads the whole text as exactly one value (a Preserves document). */
  readDocument(): Value<T> {
    if (this.src.length === 0) throw new EndOfInput('no input', this.positionAt(0));
    this.skipWs();
    const v = this.value(0);
    if (v === NOTHING) this.short();
    this.skipWs();
    if (this.pos < this.src.length) {
      const secondAt = this.pos;
      const more = this.value(0);
      if (more !== NOTHING) this.fail('more than one value in document', secondAt);
    }
    return v;
  }

  private wrap(v: Value<T>, anns: Value<T>[], at: number): Value<T> {
    if (!this.annotations) anns = [];
    if (anns.length === 0 && !this.positions) return v;
    return new Annotated(v, anns, this.positions ? this.positionAt(at) : null);
  }

  /** A value with any annotations and comments before it; NOTHING if only comments remain. */
  private value(depth: number): MaybeValue<T> {
    if (depth > this.maxDepth) this.fail('nesting deeper than ' + this.maxDepth);
    const s = this.src;
    let anns: Value<T>[] | null = null;
    let onlyComments = true;
    for (;;) {
      this.skipWs();
      if (this.pos >= s.length) {
        if (anns && onlyComments) return NOTHING;
        this.short();
      }
      const c = s.charCodeAt(this.pos);
      if (c === 64 /* @ */) {
        this.pos++;
        this.skipWs();
        const a = this.value(depth + 1);
        if (a === NOTHING) this.short();
        (anns ??= []).push(a);
        onlyComments = false;
        continue;
      }
      if (c === 35 /* # */ && this.pos + 1 < s.length) {
        const d = s.charCodeAt(this.pos + 1);
        if (d === 32 || d === 9 || d === 10 || d === 13 || d === 33 /* ! */) {
          const bodyStart = this.pos + (d === 10 || d === 13 ? 1 : 2);
          let end = bodyStart;
          while (end < s.length && s.charCodeAt(end) !== 10 && s.charCodeAt(end) !== 13) end++;
          const text = s.slice(bodyStart, end);
          this.pos = end;
          (anns ??= []).push(d === 33 ? new Record<T>(Symbol.for('interpreter'), [text]) : text);
          continue;
        }
      }
      if (anns && onlyComments && (c === 93 || c === 125 || c === 62)) return NOTHING;
      break;
    }
    const at = this.pos;
    const v = this.bare(depth);
    return this.wrap(v, anns ?? [], at);
  }

  /** A value with no annotations in front. */
  private bare(depth: number): Value<T> {
    const s = this.src;
    const at = this.pos;
    const c = s.charCodeAt(this.pos);
    switch (c) {
      case 34 /* " */: this.pos++; return this.quoted(34);
      case 124 /* | */: this.pos++; return Symbol.for(this.quoted(124));
      case 60 /* < */: {
        this.pos++;
        this.skipWs();
        if (this.peek() === 62) this.fail('record without a label', at);
        const label = this.required(depth + 1);
        return new Record<T>(label, this.sequence(depth, 62, false));
      }
      case 91 /* [ */: this.pos++; return this.sequence(depth, 93, true);
      case 123 /* { */: this.pos++; return this.dictionary(depth);
      case 35 /* # */: return this.hash(depth);
      case 62: case 93: case 125: this.fail('unexpected ' + s[this.pos]);
      case 44: this.fail('unexpected comma');
      case 58: this.fail('unexpected colon');
      case 59: this.fail('unexpected semicolon');
    }
    return this.word();
  }

  private required(depth: number): Value<T> {
    const v = this.value(depth);
    if (v === NOTHING) this.fail('expected a value');
    return v;
  }

  private sequence(depth: number, close: number, commas: boolean): Value<T>[] {
    const out: Value<T>[] = [];
    for (;;) {
      if (commas) this.skipWsAndCommas(); else this.skipWs();
      const c = this.peek();
      if (c === close) { this.pos++; return out; }
      if (c === 44 && !commas) this.fail('commas are not allowed in records');
      const v = this.value(depth + 1);
      if (v === NOTHING) continue;
      out.push(v);
    }
  }

  private dictionary(depth: number): Dictionary<T> {
    const d = new Dictionary<T>();
    for (;;) {
      this.skipWsAndCommas();
      if (this.peek() === 125) { this.pos++; return d; }
      const keyAt = this.pos;
      const k = this.value(depth + 1);
      if (k === NOTHING) continue;
      this.skipWs();
      if (this.peek() !== 58) this.fail('expected ":" after dictionary key');
      this.pos++;
      this.skipWs();
      if (this.peek() === 125) this.fail('dictionary key without a value');
      const v = this.required(depth + 1);
      if (d.has(k)) this.fail('duplicate dictionary key', keyAt);
      d.set(k, v);
    }
  }

  private hash(depth: number): Value<T> {
    const s = this.src;
    const at = this.pos;
    this.pos++;
    const c = this.peek();
    switch (c) {
      case 116: case 102: { // t f
        this.pos++;
        this.delimited(at);
        return c === 116;
      }
      case 34: this.pos++; return this.quotedBytes();
      case 120: { // x
        if (s.startsWith('xd"', this.pos)) {
          this.pos += 3;
          const b = this.hexBytes();
          if (b.length !== 8) this.fail('#xd"…" needs exactly 8 bytes', at);
          return Double.fromBytes(b);
        }
        if (s.startsWith('x"', this.pos)) {
          this.pos += 2;
          return new Bytes(this.hexBytes());
        }
        this.fail('invalid # syntax', at);
      }
      case 91: { // [
        const end = s.indexOf(']', this.pos);
        if (end < 0) { this.pos = s.length; this.short(); }
        const b = decodeBase64(s.slice(this.pos + 1, end));
        if (!b) this.fail('invalid base64', at);
        this.pos = end + 1;
        return new Bytes(b);
      }
      case 123: { // {
        this.pos++;
        const set = new KeyedSet<T>();
        for (;;) {
          this.skipWsAndCommas();
          if (this.peek() === 125) { this.pos++; return set; }
          const itemAt = this.pos;
          const v = this.value(depth + 1);
          if (v === NOTHING) continue;
          if (!set.add(v)) this.fail('duplicate set member', itemAt);
        }
      }
      case 58: { // :
        this.pos++;
        this.skipWs();
        const v = this.required(depth + 1);
        try {
          return this.embeddedDecode(v);
        } catch (e) {
          if (e instanceof DecodeError && !e.pos) this.fail(e.detail, at);
          throw e;
        }
      }
    }
    this.fail('invalid # syntax', at);
  }

  private delimited(tokenStart: number): void {
    if (this.pos < this.src.length && !isDelimiter(this.src.charCodeAt(this.pos))) {
      this.fail('a delimiter must follow ' + JSON.stringify(this.src.slice(tokenStart, this.pos)));
    }
  }

  private word(): Value<T> {
    const s = this.src;
    const start = this.pos;
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c < 0x80) {
        if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || ASCII_SYMBOL_PUNCT.includes(s[this.pos])) {
          this.pos++;
          continue;
        }
        break;
      }
      const cp = s.codePointAt(this.pos)!;
      const ch = String.fromCodePoint(cp);
      if (!WIDE_SYMBOL_CHAR.test(ch)) break;
      this.pos += ch.length;
    }
    if (this.pos === start) this.fail('unexpected character ' + JSON.stringify(String.fromCodePoint(s.codePointAt(start)!)));
    this.delimited(start);
    const w = s.slice(start, this.pos);
    switch (classifyBareWord(w)) {
      case 'int':
        if (w.length < 16) return Number(w) || 0;
        if (w.length - (w[0] === '-' || w[0] === '+' ? 1 : 0) > MAX_TEXT_INTEGER_DIGITS) {
          this.fail('integer longer than ' + MAX_TEXT_INTEGER_DIGITS + ' digits', start);
        }
        return normInt(BigInt(w));
      case 'flt': return new Double(Number(w));
      default: return Symbol.for(w);
    }
  }

  /** A string or quoted symbol body after its opening quote `q`. */
  private quoted(q: number): string {
    const s = this.src;
    let out = '';
    let runStart = this.pos;
    for (;;) {
      if (this.pos >= s.length) this.short();
      const c = s.charCodeAt(this.pos);
      if (c === q) {
        out += s.slice(runStart, this.pos);
        this.pos++;
        return out;
      }
      if (c !== 92 /* \ */) {
        if (c >= 0xd800 && c <= 0xdfff) {
          const cp = s.codePointAt(this.pos)!;
          if (cp < 0x10000) this.fail('lone surrogate in text');
          this.pos += 2;
        } else this.pos++;
        continue;
      }
      out += s.slice(runStart, this.pos);
      const escAt = this.pos;
      this.pos++;
      const e = this.peek();
      this.pos++;
      switch (e) {
        case 92: out += '\\'; break;
        case 47: out += '/'; break;
        case 98: out += '\b'; break;
        case 102: out += '\f'; break;
        case 110: out += '\n'; break;
        case 114: out += '\r'; break;
        case 116: out += '\t'; break;
        case 117: { // u
          const u = this.hex4(escAt);
          if (u >= 0xdc00 && u <= 0xdfff) this.fail('unpaired low surrogate escape', escAt);
          if (u >= 0xd800 && u <= 0xdbff) {
            if (s.charCodeAt(this.pos) !== 92 || s.charCodeAt(this.pos + 1) !== 117) {
              if (this.pos >= s.length) this.short();
              this.fail('high surrogate escape without a low one', escAt);
            }
            this.pos += 2;
            const lo = this.hex4(escAt);
            if (lo < 0xdc00 || lo > 0xdfff) this.fail('high surrogate escape without a low one', escAt);
            out += String.fromCharCode(u, lo);
          } else out += String.fromCharCode(u);
          break;
        }
        default:
          if (e === q) { out += String.fromCharCode(q); break; }
          this.fail('invalid escape \\' + String.fromCharCode(e), escAt);
      }
      runStart = this.pos;
    }
  }

  private hex4(escAt: number): number {
    let v = 0;
    for (let i = 0; i < 4; i++) {
      const h = hexVal(this.peek());
      if (h < 0) this.fail('\\u needs four hex digits', escAt);
      v = v * 16 + h;
      this.pos++;
    }
    return v;
  }

  private quotedBytes(): Bytes {
    const out: number[] = [];
    for (;;) {
      const c = this.peek();
      this.pos++;
      if (c === 34) return new Bytes(Uint8Array.from(out));
      if (c !== 92) {
        if (c < 0x20 || c > 0x7e) this.fail('only printable ASCII may appear in #"…"', this.pos - 1);
        out.push(c);
        continue;
      }
      const escAt = this.pos - 1;
      const e = this.peek();
      this.pos++;
      switch (e) {
        case 92: out.push(92); break;
        case 47: out.push(47); break;
        case 34: out.push(34); break;
        case 98: out.push(8); break;
        case 102: out.push(12); break;
        case 110: out.push(10); break;
        case 114: out.push(13); break;
        case 116: out.push(9); break;
        case 120: {
          const h = hexVal(this.peek());
          this.pos++;
          const l = hexVal(this.peek());
          this.pos++;
          if (h < 0 || l < 0) this.fail('\\x needs two hex digits', escAt);
          out.push(h * 16 + l);
          break;
        }
        default: this.fail('invalid escape in byte string', escAt);
      }
    }
  }

  private hexBytes(): Uint8Array {
    const out: number[] = [];
    for (;;) {
      this.skipWs();
      const c = this.peek();
      if (c === 34) { this.pos++; return Uint8Array.from(out); }
      const h = hexVal(c);
      if (h < 0) this.fail('invalid hex digit', this.pos);
      this.pos++;
      const l = hexVal(this.peek());
      if (l < 0) this.fail('hex digits must come in pairs', this.pos);
      this.pos++;
      out.push(h * 16 + l);
    }
  }
}

/** Parses a text document holding exactly one value. */
export function parse<T = unknown>(text: string, options: TextReaderOptions<T> = {}): Value<T> {
  return new TextReader<T>(text, options).readDocument();
}

/** Parses every value in a text (a stream of values, such as a config file). */
export function parseAll<T = unknown>(text: string, options: TextReaderOptions<T> = {}): Value<T>[] {
  const r = new TextReader<T>(text, options);
  const out: Value<T>[] = [];
  for (let v = r.next(); v !== undefined; v = r.next()) out.push(v);
  return out;
}
