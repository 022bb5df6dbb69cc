import type { Value } from './value.ts';
import { Double } from './double.ts';
import { Bytes } from './bytes.ts';
import { Record } from './record.ts';
import { KeyedSet } from './keyed-set.ts';
import { Dictionary } from './dictionary.ts';
import { Embedded } from './embedded.ts';
import { Annotated } from './annotated.ts';
import { EncodeError } from './errors.ts';
import { compareBytes } from './compare.ts';

/** Binary tags of the current (0.995+) syntax. */
export const enum Tag {
  False = 0x80, True = 0x81, End = 0x84, Annotation = 0x85, Embedded = 0x86, Double = 0x87,
  SignedInteger = 0xb0, String = 0xb1, ByteString = 0xb2, Symbol = 0xb3,
  Record = 0xb4, Sequence = 0xb5, Set = 0xb6, Dictionary = 0xb7,
}

/** Options for binary output. */
export interface BinaryWriterOptions<T> {
  /** Sort set members and dictionary entries by canonical bytes (default true). */
  canonical?: boolean;
  /** Write annotations (default false). Canonical ordering still ignores them. */
  includeAnnotations?: boolean;
  /** Turns an embedded payload into the Value written after the 0x86 tag. */
  embeddedEncode?: (payload: T) => Value<any>;
}

/** Writes Preserves values in binary syntax into a growable buffer. */
export class BinaryWriter<T = unknown> {
  private buf: Buffer;
  private pos = 0;
  private readonly canonical: boolean;
  private readonly annotations: boolean;
  private readonly embeddedEncode: ((payload: T) => Value<any>) | undefined;

  constructor(options: BinaryWriterOptions<T> = {}, initialSize = 1024) {
    this.buf = Buffer.allocUnsafe(initialSize);
    this.canonical = options.canonical ?? true;
    this.annotations = options.includeAnnotations ?? false;
    this.embeddedEncode = options.embeddedEncode;
  }

  /** The bytes written so far (a copy). */
  contents(): Uint8Array {
    return new Uint8Array(this.buf.subarray(0, this.pos));
  }

  /** Forgets what was written, keeping the buffer. */
  reset(): void {
    this.pos = 0;
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = Buffer.allocUnsafe(size);
    this.buf.copy(b, 0, 0, this.pos);
    this.buf = b;
  }

  private byte(b: number): void {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = b;
  }

  private varint(n: number): void {
    this.ensure(10);
    while (n >= 0x80) {
      this.buf[this.pos++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.buf[this.pos++] = n;
  }

  private raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private text(tag: number, s: string): void {
    const n = s.length;
    let ascii = true;
    for (let i = 0; i < n; i++) if (s.charCodeAt(i) >= 0x80) { ascii = false; break; }
    if (ascii) {
      // Room for tag, length and bytes up front: `varint` must not reallocate under us.
      this.ensure(n + 11);
      const b = this.buf;
      b[this.pos++] = tag;
      this.varint(n);
      for (let i = 0; i < n; i++) b[this.pos++] = s.charCodeAt(i);
      return;
    }
    if (!s.isWellFormed()) throw new EncodeError('string holds a lone surrogate: ' + JSON.stringify(s));
    const len = Buffer.byteLength(s, 'utf8');
    this.byte(tag);
    this.varint(len);
    this.ensure(len);
    this.pos += this.buf.write(s, this.pos, len, 'utf8');
  }

  private integer(v: number | bigint): void {
    if (typeof v === 'number' && v >= -0x80000000 && v <= 0x7fffffff) {
      this.ensure(6);
      const b = this.buf;
      b[this.pos++] = Tag.SignedInteger;
      if (v === 0) { b[this.pos++] = 0; return; }
      const n = v >= -0x80 && v < 0x80 ? 1 : v >= -0x8000 && v < 0x8000 ? 2 : v >= -0x800000 && v < 0x800000 ? 3 : 4;
      b[this.pos++] = n;
      for (let i = n - 1; i >= 0; i--) b[this.pos++] = (v >> (8 * i)) & 0xff;
      return;
    }
    let x = BigInt(v);
    const bytes: number[] = [];
    // Emit little-endian until the remaining value is all sign bits and the top byte agrees.
    for (;;) {
      const byte = Number(x & 0xffn);
      bytes.push(byte);
      x >>= 8n;
      if ((x === 0n && (byte & 0x80) === 0) || (x === -1n && (byte & 0x80) !== 0)) break;
    }
    this.byte(Tag.SignedInteger);
    this.varint(bytes.length);
    this.ensure(bytes.length);
    for (let i = bytes.length - 1; i >= 0; i--) this.buf[this.pos++] = bytes[i];
  }

  /** Encodes `v` alone with this writer's options, for sorting set members and dict keys. */
  private encodeForSort(v: Value<T>): Uint8Array {
    const w = new BinaryWriter<T>({ canonical: true, includeAnnotations: false, embeddedEncode: this.embeddedEncode }, 64);
    w.write(v);
    return w.contents();
  }

  private sortedItems<X>(items: X[], keyOf: (x: X) => Value<T>): X[] {
    const tagged = items.map((x) => ({ x, k: this.encodeForSort(keyOf(x)) }));
    tagged.sort((p, q) => compareBytes(p.k, q.k));
    return tagged.map((t) => t.x);
  }

  /** Appends one value. */
  write(v: Value<T>): this {
    switch (typeof v) {
      case 'boolean': this.byte(v ? Tag.True : Tag.False); return this;
      case 'number':
        if (!Number.isSafeInteger(v)) throw new EncodeError('not an integer: ' + v + ' (use Double)');
        this.integer(v);
        return this;
      case 'bigint': this.integer(v); return this;
      case 'string': this.text(Tag.String, v); return this;
      case 'symbol': this.text(Tag.Symbol, v.description!); return this;
    }
    if (Array.isArray(v)) {
      this.byte(Tag.Sequence);
      for (let i = 0; i < v.length; i++) this.write(v[i]);
      this.byte(Tag.End);
    } else if (v instanceof Record) {
      this.byte(Tag.Record);
      this.write(v.label);
      const f = v.fields;
      for (let i = 0; i < f.length; i++) this.write(f[i]);
      this.byte(Tag.End);
    } else if (v instanceof Annotated) {
      if (this.annotations) {
        for (const a of v.annotations) {
          this.byte(Tag.Annotation);
          this.write(a);
        }
      }
      this.write(v.item);
    } else if (v instanceof Double) {
      this.ensure(10);
      this.buf[this.pos++] = Tag.Double;
      this.buf[this.pos++] = 8;
      if (v.nanBits) this.raw(v.nanBits);
      else { this.buf.writeDoubleBE(v.value, this.pos); this.pos += 8; }
    } else if (v instanceof Bytes) {
      this.byte(Tag.ByteString);
      this.varint(v.length);
      this.raw(v.bytes);
    } else if (v instanceof KeyedSet) {
      this.byte(Tag.Set);
      const members = [...v];
      for (const m of this.canonical && members.length > 1 ? this.sortedItems(members, (x) => x) : members) this.write(m);
      this.byte(Tag.End);
    } else if (v instanceof Dictionary) {
      this.byte(Tag.Dictionary);
      const entries = [...v] as [Value<T>, Value<T>][];
      for (const [k, x] of this.canonical && entries.length > 1 ? this.sortedItems(entries, (e) => e[0]) : entries) {
        this.write(k);
        this.write(x);
      }
      this.byte(Tag.End);
    } else if (v instanceof Embedded) {
      this.byte(Tag.Embedded);
      if (v.generic) this.write(v.value as Value<T>);
      else if (this.embeddedEncode) this.write(this.embeddedEncode(v.value) as Value<T>);
      else throw new EncodeError('cannot encode an embedded value without an embeddedEncode function');
    } else {
      throw new EncodeError('not a Preserves value: ' + String(v));
    }
    return this;
  }
}

/** Encodes one value in binary: canonical form unless the options say otherwise. */
export function encode<T>(v: Value<T>, options: BinaryWriterOptions<T> = {}): Uint8Array {
  return new BinaryWriter<T>(options, 256).write(v).contents();
}

/** The canonical binary form: sorted sets and dictionaries, no annotations. */
export function canonicalEncode<T>(v: Value<T>, embeddedEncode?: (payload: T) => Value<any>): Uint8Array {
  return encode(v, { canonical: true, includeAnnotations: false, embeddedEncode });
}
