import type { Value } from './value.ts';
import { Double } from './double.ts';
import { Bytes } from './bytes.ts';
import { Record } from './record.ts';
import { KeyedSet } from './keyed-set.ts';
import { Dictionary } from './dictionary.ts';
import { Embedded } from './embedded.ts';
import { Annotated } from './annotated.ts';
import { EncodeError } from './errors.ts';

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
  /** While set, receives the same value without annotations (canonical sort keys). */
  private shadow: BinaryWriter<T> | null = null;

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
    const bytes = bigintToBytes(BigInt(v));
    this.byte(Tag.SignedInteger);
    this.varint(bytes.length);
    this.raw(bytes);
  }

  /** A fresh writer for one member: canonical, with this writer's annotations and embeddings. */
  private child(annotations: boolean): BinaryWriter<T> {
    return new BinaryWriter<T>({ canonical: true, includeAnnotations: annotations, embeddedEncode: this.embeddedEncode }, 64);
  }

  /** The bytes written so far, not copied: only for writers about to be dropped. */
  private view(): Buffer {
    return this.buf.subarray(0, this.pos);
  }

  /**
   * Canonical members: each is encoded once, the encodings sorted, then copied out. Writing a
   * member again after encoding it for its sort key doubled the work per nesting level (a
   * 24-deep set of 159 bytes took 10 s). With annotations kept, the member is written once into
   * two writers in step (`shadow` gets everything but annotations: the sort key). Loops, not
   * closures: few stack frames per nesting level, so 1000-deep values (what readers accept) fit.
   */
  private sortedMembers(members: Value<T>[], entries: boolean): { bytes: Buffer; key: Buffer; v: Value<T> | undefined }[] {
    const out: { bytes: Buffer; key: Buffer; v: Value<T> | undefined }[] = new Array(members.length);
    for (let i = 0; i < members.length; i++) {
      const m = entries ? (members[i] as unknown as [Value<T>, Value<T>])[0] : members[i];
      const w = this.child(this.annotations);
      if (this.annotations) w.shadow = this.child(false);
      w.write(m);
      const bytes = w.view();
      out[i] = { bytes, key: w.shadow ? w.shadow.view() : bytes, v: entries ? (members[i] as unknown as [Value<T>, Value<T>])[1] : undefined };
    }
    return out.sort((p, q) => Buffer.compare(p.key, q.key));
  }

  /** Writes `v` here with annotations and into `shadow` without, in one pass. */
  private writeDual(v: Value<T>): void {
    const sh = this.shadow!;
    const both = (b: number) => { this.byte(b); sh.byte(b); };
    if (v instanceof Annotated) {
      this.shadow = null;
      for (const a of v.annotations) {
        this.byte(Tag.Annotation);
        this.write(a);
      }
      this.shadow = sh;
      this.write(v.item);
    } else if (Array.isArray(v) || v instanceof Record) {
      both(Array.isArray(v) ? Tag.Sequence : Tag.Record);
      if (v instanceof Record) this.write(v.label);
      const items = Array.isArray(v) ? v : v.fields;
      for (let i = 0; i < items.length; i++) this.write(items[i]);
      both(Tag.End);
    } else if (v instanceof KeyedSet || v instanceof Dictionary) {
      const entries = v instanceof Dictionary;
      both(entries ? Tag.Dictionary : Tag.Set);
      for (const e of this.sortedMembers([...v] as Value<T>[], entries)) {
        this.raw(e.bytes);
        sh.raw(e.key);
        if (entries) this.write(e.v!);
      }
      both(Tag.End);
    } else if (v instanceof Embedded && v.generic) {
      both(Tag.Embedded);
      this.write(v.value as Value<T>);
    } else {
      // Atoms (and non-generic embeddeds): written once, copied to the shadow.
      const start = this.pos;
      this.shadow = null;
      this.write(v);
      this.shadow = sh;
      sh.raw(this.buf.subarray(start, this.pos));
    }
  }

  /** Appends one value. */
  write(v: Value<T>): this {
    if (this.shadow !== null) {
      this.writeDual(v);
      return this;
    }
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
      if (this.canonical && members.length > 1) {
        for (const e of this.sortedMembers(members, false)) this.raw(e.bytes);
      } else {
        for (const m of members) this.write(m);
      }
      this.byte(Tag.End);
    } else if (v instanceof Dictionary) {
      this.byte(Tag.Dictionary);
      const entries = [...v] as [Value<T>, Value<T>][];
      if (this.canonical && entries.length > 1) {
        for (const e of this.sortedMembers(entries as unknown as Value<T>[], true)) {
          this.raw(e.bytes);
          this.write(e.v!);
        }
      } else {
        for (const [k, x] of entries) {
          this.write(k);
          this.write(x);
        }
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

/**
 * The shortest two's-complement big-endian bytes of `x`, in time linear in its size (through
 * `toString(16)`; peeling a byte at a time is O(n²): a million-digit integer took 51 s).
 * A negative x is the bitwise complement of -x-1, which is non-negative.
 */
export function bigintToBytes(x: bigint): Uint8Array {
  const negative = x < 0n;
  let hex = (negative ? -x - 1n : x).toString(16);
  if (hex.length % 2 === 1) hex = '0' + hex;
  // Room for the sign bit: a top byte of 0x80 or more needs a 00 (ff once complemented) before it.
  if (hex.charCodeAt(0) >= 0x38 /* '8' */) hex = '00' + hex;
  const b = Buffer.from(hex, 'hex');
  if (negative) for (let i = 0; i < b.length; i++) b[i] = ~b[i] & 0xff;
  return new Uint8Array(b.buffer, b.byteOffset, b.length);
}

/** Encodes one value in binary: canonical form unless the options say otherwise. */
export function encode<T>(v: Value<T>, options: BinaryWriterOptions<T> = {}): Uint8Array {
  return new BinaryWriter<T>(options, 256).write(v).contents();
}

/** The canonical binary form: sorted sets and dictionaries, no annotations. */
export function canonicalEncode<T>(v: Value<T>, embeddedEncode?: (payload: T) => Value<any>): Uint8Array {
  return encode(v, { canonical: true, includeAnnotations: false, embeddedEncode });
}
