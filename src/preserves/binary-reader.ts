import type { Value } from './value.ts';
import { normInt } from './value.ts';
import { Double } from './double.ts';
import { Bytes } from './bytes.ts';
import { Record } from './record.ts';
import { KeyedSet } from './keyed-set.ts';
import { Dictionary } from './dictionary.ts';
import { Embedded } from './embedded.ts';
import { Annotated } from './annotated.ts';
import { DecodeError, EndOfInput, ShortInput } from './errors.ts';
import { Tag } from './binary-writer.ts';

/** How deep values may nest before a reader refuses them: hostile input never overflows the stack. */
export const DEFAULT_MAX_DEPTH = 1000;

/** Options shared by both readers. */
export interface ReaderOptions<T> {
  /** Keep annotations as `Annotated` wrappers (default false: dropped). */
  includeAnnotations?: boolean;
  /** Turns the Value after `#:` / 0x86 into an embedded payload (default: generic embedded). */
  embeddedDecode?: (v: Value<any>) => Embedded<T>;
  /** Deepest nesting accepted before a DecodeError (default 1000), so no stack overflow. */
  maxDepth?: number;
}

// `ignoreBOM`: a leading U+FEFF is content, not a byte-order mark (`b1 03 ef bb bf` is "\ufeff").
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const genericEmbedded = <T>(v: Value<any>) => Embedded.generic<T>(v);

/** A binary reader over a byte buffer; values are read one at a time. */
export class BinaryReader<T = unknown> {
  private buf: Uint8Array;
  private pos = 0;
  private readonly annotations: boolean;
  private readonly embeddedDecode: (v: Value<any>) => Embedded<T>;
  private readonly maxDepth: number;

  constructor(bytes: Uint8Array = new Uint8Array(0), options: ReaderOptions<T> = {}) {
    this.buf = bytes;
    this.annotations = options.includeAnnotations ?? false;
    this.embeddedDecode = options.embeddedDecode ?? genericEmbedded;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** Appends bytes for a streaming read. */
  write(chunk: Uint8Array): void {
    if (this.pos === this.buf.length) {
      this.buf = chunk;
    } else {
      const rest = this.buf.subarray(this.pos);
      const b = new Uint8Array(rest.length + chunk.length);
      b.set(rest, 0);
      b.set(chunk, rest.length);
      this.buf = b;
    }
    this.pos = 0;
  }

  /** True when every byte given has been consumed. */
  atEnd(): boolean {
    return this.pos >= this.buf.length;
  }

  /** Bytes given but not yet consumed. */
  get buffered(): number {
    return this.buf.length - this.pos;
  }

  /**
   * The next complete value, or `undefined` when the bytes end before one is complete; the
   * partial bytes are kept for the next `write`. Syntax errors throw `DecodeError`.
   */
  next(): Value<T> | undefined {
    const start = this.pos;
    try {
      return this.read();
    } catch (e) {
      if (e instanceof ShortInput) {
        this.pos = start;
        return undefined;
      }
      throw e;
    }
  }

  /** Reads one value; throws `EndOfInput` if there are no bytes, `ShortInput` if cut off. */
  read(): Value<T> {
    if (this.pos >= this.buf.length) throw new EndOfInput('no input at byte ' + this.pos);
    return this.value(0);
  }

  private short(): never {
    throw new ShortInput('input ends inside a value at byte ' + this.pos);
  }

  private fail(message: string, at = this.pos): never {
    throw new DecodeError(message + ' at byte ' + at);
  }

  private nextByte(): number {
    if (this.pos >= this.buf.length) this.short();
    return this.buf[this.pos++];
  }

  private varint(): number {
    let n = 0, scale = 1;
    for (let i = 0; ; i++) {
      const b = this.nextByte();
      if (i > 0 && b === 0) this.fail('non-shortest varint', this.pos - 1);
      n += (b & 0x7f) * scale;
      if (b < 0x80) break;
      scale *= 128;
      if (i >= 7) this.fail('varint too large');
    }
    return n;
  }

  private take(n: number): Uint8Array {
    if (this.pos + n > this.buf.length) this.short();
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  private text(n: number): string {
    const start = this.pos;
    if (start + n > this.buf.length) this.short();
    const b = this.buf;
    if (n <= 32) {
      // Short ASCII strings (symbols, names) are the common case: build them directly.
      let s = '';
      let i = start;
      const end = start + n;
      for (; i < end; i++) {
        const c = b[i];
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === end) {
        this.pos = end;
        return s;
      }
    }
    this.pos += n;
    try {
      return utf8.decode(b.subarray(start, start + n));
    } catch {
      return this.fail('invalid UTF-8', start);
    }
  }

  private integer(n: number): number | bigint {
    const at = this.pos;
    const b = this.take(n);
    if (n === 0) return 0;
    if ((n === 1 && b[0] === 0) || (n >= 2 && ((b[0] === 0 && b[1] < 0x80) || (b[0] === 0xff && b[1] >= 0x80)))) {
      this.fail('non-minimal integer', at);
    }
    if (n <= 6) {
      let v = b[0] >= 0x80 ? b[0] - 256 : b[0];
      for (let i = 1; i < n; i++) v = v * 256 + b[i];
      return v;
    }
    return normInt(bigintFromBytes(b));
  }

  private value(depth: number): Value<T> {
    if (depth > this.maxDepth) this.fail('nesting deeper than ' + this.maxDepth);
    const at = this.pos;
    const tag = this.nextByte();
    switch (tag) {
      case Tag.False: return false;
      case Tag.True: return true;
      case Tag.Double: {
        if (this.nextByte() !== 8) this.fail('double length must be 8', at);
        const b = this.take(8);
        return Double.fromBytes(b);
      }
      case Tag.SignedInteger: return this.integer(this.varint());
      case Tag.String: return this.text(this.varint());
      case Tag.ByteString: return new Bytes(this.take(this.varint()).slice());
      case Tag.Symbol: return Symbol.for(this.text(this.varint()));
      case Tag.Record: {
        if (this.peekEnd()) this.fail('record without a label', at);
        const label = this.value(depth + 1);
        return new Record<T>(label, this.items(depth));
      }
      case Tag.Sequence: return this.items(depth);
      case Tag.Set: {
        const s = new KeyedSet<T>();
        while (!this.peekEnd()) {
          const itemAt = this.pos;
          if (!s.add(this.value(depth + 1))) this.fail('duplicate set member', itemAt);
        }
        this.pos++;
        return s;
      }
      case Tag.Dictionary: {
        const d = new Dictionary<T>();
        while (!this.peekEnd()) {
          const keyAt = this.pos;
          const k = this.value(depth + 1);
          if (this.peekEnd()) this.fail('dictionary key without a value', keyAt);
          const v = this.value(depth + 1);
          if (d.has(k)) this.fail('duplicate dictionary key', keyAt);
          d.set(k, v);
        }
        this.pos++;
        return d;
      }
      case Tag.Embedded: return this.embeddedDecode(this.value(depth + 1));
      case Tag.Annotation: {
        const anns: Value<T>[] = [this.value(depth + 1)];
        while (this.peekByte() === Tag.Annotation) {
          this.pos++;
          anns.push(this.value(depth + 1));
        }
        if (this.peekEnd()) this.fail('annotation without a value');
        const item = this.value(depth + 1);
        if (!this.annotations) return item;
        return item instanceof Annotated ? new Annotated(item.item, [...anns, ...item.annotations]) : new Annotated(item, anns);
      }
      case Tag.End: return this.fail('unexpected end marker', at);
      default: return this.fail('invalid tag 0x' + tag.toString(16), at);
    }
  }

  private peekByte(): number {
    if (this.pos >= this.buf.length) this.short();
    return this.buf[this.pos];
  }

  private peekEnd(): boolean {
    return this.peekByte() === Tag.End;
  }

  private items(depth: number): Value<T>[] {
    const out: Value<T>[] = [];
    while (!this.peekEnd()) out.push(this.value(depth + 1));
    this.pos++;
    return out;
  }
}

/**
 * The two's-complement big-endian integer in `b`, in time linear in its length: V8 parses a hex
 * string in one pass, where shifting in byte by byte costs O(n²) (a 400 KB integer took a minute).
 */
export function bigintFromBytes(b: Uint8Array): bigint {
  if (b.length === 0) return 0n;
  const v = BigInt('0x' + Buffer.from(b.buffer, b.byteOffset, b.length).toString('hex'));
  return b[0] >= 0x80 ? v - (1n << BigInt(8 * b.length)) : v;
}

/** Decodes exactly one value from `bytes`; trailing bytes are an error. */
export function decode<T = unknown>(bytes: Uint8Array, options: ReaderOptions<T> = {}): Value<T> {
  const r = new BinaryReader<T>(bytes, options);
  const v = r.read();
  if (!r.atEnd()) throw new DecodeError('trailing bytes after value');
  return v;
}

/** Decodes a stream of concatenated values. */
export function decodeAll<T = unknown>(bytes: Uint8Array, options: ReaderOptions<T> = {}): Value<T>[] {
  const r = new BinaryReader<T>(bytes, options);
  const out: Value<T>[] = [];
  while (!r.atEnd()) out.push(r.read());
  return out;
}
