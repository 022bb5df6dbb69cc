// Packets over a byte stream (spec §6.5, §6.6): concatenated Preserves values, each in binary
// or text syntax as its first byte says. The reader finds where a packet ends with a small
// resumable scanner and only then decodes it, so a packet fed one byte at a time costs one
// decode, not one per byte, and an oversize or overdeep packet is refused before it is buffered.
import {
  DecodeError, Embedded, decode, encode, parse, stringify, type Value,
} from '../preserves/index.ts';
import { PacketError, packetToValue, parsePacket, type Packet } from './packet.ts';

/** Which Preserves syntax a packet is (or is to be) written in. */
export type Syntax = 'binary' | 'text';

/**
 * Largest packet accepted, in bytes: 16 MiB. Far above anything the server sends (Rust reads in
 * 64 KiB chunks and real turns are small) yet bounds what a hostile peer can make us buffer.
 */
export const DEFAULT_MAX_PACKET_SIZE = 16 * 1024 * 1024;

/** Deepest nesting accepted: the Preserves readers' own default. */
export const DEFAULT_MAX_DEPTH = 1000;

/** Options of a packet reader. */
export interface PacketReaderOptions<T> {
  /** Maps the value inside an embedded marker (a WireRef) to an embedded (default: generic). */
  embeddedDecode?: (v: Value<any>) => Embedded<T>;
  /** Largest packet in bytes (default `DEFAULT_MAX_PACKET_SIZE`). */
  maxPacketSize?: number;
  /** Deepest nesting (default `DEFAULT_MAX_DEPTH`). */
  maxDepth?: number;
}

/** Why the bytes of a packet could not be turned into a value. */
export type FramingFailure = 'syntax' | 'too-large' | 'too-deep' | 'embedded';

/**
 * A packet malformed below the value level: bad syntax, too large, too deep, or refused by the
 * `embeddedDecode` hook (the original error is the `cause`). A kind of `PacketError`, so callers
 * can treat every bad packet alike; `packet` is undefined since no value was read.
 */
export class FramingError extends PacketError {
  readonly reason: FramingFailure;
  /** The syntax the packet was being read in. */
  readonly syntax: Syntax;
  /** Offset in the stream of the packet's first byte. */
  readonly offset: number;
  constructor(reason: FramingFailure, syntax: Syntax, offset: number, message: string, cause?: unknown) {
    super(syntax + ' packet at stream byte ' + offset + ': ' + message, undefined, cause === undefined ? undefined : { cause });
    this.name = 'FramingError';
    this.reason = reason;
    this.syntax = syntax;
    this.offset = offset;
  }
}

/** One packet read, or why the stream cannot go on. */
export type ReadResult<T> =
  | { readonly ok: true; readonly packet: Packet<T>; readonly syntax: Syntax }
  | { readonly ok: false; readonly error: PacketError; readonly syntax: Syntax };

const enum BinMode { Tag, Length, Skip }
const enum TextMode { Value, Quoted, Hash, HashX, HashXD, Hex, Base64, Comment, Word }

// Binary tags the scanner needs (spec §6.8).
const END = 0x84, ANNOTATION = 0x85, EMBEDDED = 0x86, DOUBLE = 0x87;

function isWs(c: number): boolean {
  return c === 32 || c === 9 || c === 10 || c === 13;
}

/** The text reader's delimiters: whitespace < > [ ] { } # : " | @ ; , */
function isDelimiter(c: number): boolean {
  return isWs(c) || c === 60 || c === 62 || c === 91 || c === 93 || c === 123 || c === 125 || c === 35 ||
    c === 58 || c === 34 || c === 124 || c === 64 || c === 59 || c === 44;
}

/** Thrown inside the scanner to cut a packet short; caught in `next`. */
class Cut {
  constructor(readonly at: number) {}
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Reads packets from a byte stream. `write` chunks as they arrive, then call `next` until it
 * returns `undefined` (more bytes needed). Whitespace between packets is skipped. After an
 * error result the stream cannot be resynchronised: `next` keeps returning that error, and the
 * caller is expected to send `<error …>` and close the connection.
 */
export class PacketReader<T = unknown> {
  private readonly embeddedDecode: ((v: Value<any>) => Embedded<T>) | undefined;
  private readonly maxPacketSize: number;
  private readonly maxDepth: number;

  private buf = new Uint8Array(0);
  /** First byte of the packet being scanned (or of unread input between packets). */
  private head = 0;
  /** Next byte to scan. */
  private scan = 0;
  /** End of the bytes written. */
  private tail = 0;
  /** Stream offset of `buf[0]`, for error messages. */
  private discarded = 0;
  private failure: ReadResult<T> | undefined;
  private last: Syntax | undefined;

  // Scanner state of the current packet; `current` undefined means "between packets".
  private current: Syntax | undefined;
  /** Bracket depth. */
  private depth = 0;
  /** Values still to complete at depth 0: 1, plus one per top-level annotation `@`/0x85. */
  private need = 1;
  private binMode = BinMode.Tag;
  private textMode = TextMode.Value;
  private quote = 0;
  private escaped = false;
  private length = 0;
  private lengthScale = 1;
  private lengthBytes = 0;

  constructor(options: PacketReaderOptions<T> = {}) {
    this.embeddedDecode = options.embeddedDecode;
    this.maxPacketSize = options.maxPacketSize ?? DEFAULT_MAX_PACKET_SIZE;
    this.maxDepth = options.maxDepth ?? DEFAULT_MAX_DEPTH;
  }

  /** The syntax of the last packet read successfully, so the writer can mirror it (§6.6). */
  get lastSyntax(): Syntax | undefined {
    return this.last;
  }

  /** Bytes written but not yet returned as packets (a partial packet, or skipped whitespace). */
  get buffered(): number {
    return this.tail - this.head;
  }

  /** True when a packet has begun but not ended (useful at end of stream). */
  get inPacket(): boolean {
    return this.current !== undefined;
  }

  /** Appends bytes from the stream (copied; the caller may reuse `chunk`). */
  write(chunk: Uint8Array): void {
    if (this.failure || chunk.length === 0) return;
    if (this.tail + chunk.length > this.buf.length) {
      const live = this.tail - this.head;
      const needed = live + chunk.length;
      if (needed <= this.buf.length && this.head > 0) {
        this.buf.copyWithin(0, this.head, this.tail);
      } else {
        const nb = new Uint8Array(Math.max(needed, this.buf.length * 2, 4096));
        nb.set(this.buf.subarray(this.head, this.tail));
        this.buf = nb;
      }
      this.discarded += this.head;
      this.scan -= this.head;
      this.tail = live;
      this.head = 0;
    }
    this.buf.set(chunk, this.tail);
    this.tail += chunk.length;
  }

  /** Writes `chunk` and returns every result now available (stopping after an error). */
  feed(chunk: Uint8Array): ReadResult<T>[] {
    this.write(chunk);
    const out: ReadResult<T>[] = [];
    for (let r = this.next(); r !== undefined; r = this.failure ? undefined : this.next()) out.push(r);
    return out;
  }

  /** The next packet or error, or `undefined` when more bytes are needed. */
  next(): ReadResult<T> | undefined {
    if (this.failure) return this.failure;
    const buf = this.buf;
    while (this.scan < this.tail) {
      if (this.current === undefined) {
        const c = buf[this.scan];
        if (isWs(c)) {
          this.head = ++this.scan;
          continue;
        }
        this.begin(c >= 0x80 ? 'binary' : 'text');
      }
      const syntax = this.current!;
      let end: number;
      let cut = false;
      try {
        end = syntax === 'binary' ? this.scanBinary() : this.scanText();
      } catch (e) {
        if (e instanceof FramingError) return this.fail(e, syntax);
        if (!(e instanceof Cut)) throw e;
        // Let the decoder say what is wrong with the bytes up to the offending one.
        end = e.at;
        cut = true;
      }
      if (end < 0) {
        if (this.scan - this.head > this.maxPacketSize) return this.fail(this.tooLarge(), syntax);
        break;
      }
      if (end - this.head > this.maxPacketSize) return this.fail(this.tooLarge(), syntax);
      const result = this.finish(syntax, end, cut);
      if (!result.ok) return this.fail(result.error, syntax);
      return result;
    }
    if (this.head === this.tail) this.recycle();
    return undefined;
  }

  private begin(syntax: Syntax): void {
    this.current = syntax;
    this.depth = 0;
    this.need = 1;
    this.binMode = BinMode.Tag;
    this.textMode = TextMode.Value;
    this.escaped = false;
  }

  /** Drops a big buffer once it is empty, so one large packet does not pin memory forever. */
  private recycle(): void {
    this.discarded += this.head;
    this.head = this.scan = this.tail = 0;
    if (this.buf.length > 1024 * 1024) this.buf = new Uint8Array(0);
  }

  private offset(): number {
    return this.discarded + this.head;
  }

  private tooLarge(): FramingError {
    return new FramingError('too-large', this.current!, this.offset(), 'larger than the limit of ' + this.maxPacketSize + ' bytes');
  }

  private tooDeep(): FramingError {
    return new FramingError('too-deep', this.current!, this.offset(), 'nested deeper than ' + this.maxDepth);
  }

  private fail(error: PacketError, syntax: Syntax): ReadResult<T> {
    this.failure = { ok: false, error, syntax };
    this.buf = new Uint8Array(0);
    this.head = this.scan = this.tail = 0;
    return this.failure;
  }

  /**
   * Decodes and parses the packet in `buf[head, end)` and moves past it. `cut` says the scanner
   * stopped at a byte no value may hold, so the bytes are an error even if they happen to decode.
   */
  private finish(syntax: Syntax, end: number, cut: boolean): ReadResult<T> {
    const bytes = this.buf.subarray(this.head, end);
    const offset = this.offset();
    const syntaxError = (message: string, cause?: unknown): ReadResult<T> =>
      ({ ok: false, error: new FramingError('syntax', syntax, offset, message, cause), syntax });
    let text = '';
    if (syntax === 'text') {
      try {
        text = utf8.decode(bytes);
      } catch (e) {
        return syntaxError('invalid UTF-8', e);
      }
    }
    let value: Value<T>;
    try {
      const options = { embeddedDecode: this.embeddedDecode, maxDepth: this.maxDepth };
      value = syntax === 'binary' ? decode<T>(bytes, options) : parse<T>(text, options);
    } catch (e) {
      if (e instanceof DecodeError) return syntaxError(e.message, e);
      if (e instanceof Error) return { ok: false, error: new FramingError('embedded', syntax, offset, e.message, e), syntax };
      throw e;
    }
    if (cut) return syntaxError('unexpected byte 0x' + this.buf[end - 1].toString(16) + ' at packet byte ' + (end - 1 - this.head));
    this.head = this.scan = end;
    this.current = undefined;
    try {
      const packet = parsePacket(value);
      this.last = syntax;
      return { ok: true, packet, syntax };
    } catch (e) {
      if (e instanceof PacketError) return { ok: false, error: e, syntax };
      throw e;
    }
  }

  /** A value ended at depth 0 just before `at`: returns `at` if that completes the packet. */
  private valueDone(at: number): number {
    if (this.depth === 0 && --this.need === 0) return at;
    return -1;
  }

  private open(): void {
    if (++this.depth > this.maxDepth) throw this.tooDeep();
  }

  /** Advances over binary bytes; the packet's end offset, or -1 if the bytes run out first. */
  private scanBinary(): number {
    const buf = this.buf;
    const tail = this.tail;
    while (this.scan < tail) {
      switch (this.binMode) {
        case BinMode.Skip: {
          const n = Math.min(this.length, tail - this.scan);
          this.scan += n;
          this.length -= n;
          if (this.length > 0) return -1;
          this.binMode = BinMode.Tag;
          const end = this.valueDone(this.scan);
          if (end >= 0) return end;
          continue;
        }
        case BinMode.Length: {
          const b = buf[this.scan++];
          this.length += (b & 0x7f) * this.lengthScale;
          this.lengthScale *= 128;
          if (b >= 0x80) {
            // Eight varint bytes already exceed any size we accept.
            if (++this.lengthBytes >= 8) throw this.tooLarge();
            continue;
          }
          if (this.scan + this.length - this.head > this.maxPacketSize) throw this.tooLarge();
          if (this.length > 0) {
            this.binMode = BinMode.Skip;
            continue;
          }
          this.binMode = BinMode.Tag;
          const end = this.valueDone(this.scan);
          if (end >= 0) return end;
          continue;
        }
        case BinMode.Tag: {
          const at = this.scan;
          const tag = buf[this.scan++];
          if (tag === 0x80 || tag === 0x81) {
            const end = this.valueDone(this.scan);
            if (end >= 0) return end;
          } else if (tag === END) {
            if (this.depth === 0) throw new Cut(this.scan);
            this.depth--;
            const end = this.valueDone(this.scan);
            if (end >= 0) return end;
          } else if (tag === ANNOTATION) {
            if (this.depth === 0) this.need++;
          } else if (tag === EMBEDDED) {
            // A prefix: the embedded value is the value that follows.
          } else if (tag === DOUBLE || (tag >= 0xb0 && tag <= 0xb3)) {
            this.binMode = BinMode.Length;
            this.length = 0;
            this.lengthScale = 1;
            this.lengthBytes = 0;
          } else if (tag >= 0xb4 && tag <= 0xb7) {
            this.open();
          } else {
            throw new Cut(at + 1);
          }
          continue;
        }
      }
    }
    return -1;
  }

  /** Advances over text bytes; the packet's end offset, or -1 if the bytes run out first. */
  private scanText(): number {
    const buf = this.buf;
    const tail = this.tail;
    while (this.scan < tail) {
      const c = buf[this.scan];
      switch (this.textMode) {
        case TextMode.Value: {
          this.scan++;
          if (isWs(c)) continue;
          switch (c) {
            case 34: case 124: // " |
              this.quote = c;
              this.escaped = false;
              this.textMode = TextMode.Quoted;
              continue;
            case 60: case 91: case 123: // < [ {
              this.open();
              continue;
            case 62: case 93: case 125: { // > ] }
              if (this.depth === 0) throw new Cut(this.scan);
              this.depth--;
              const end = this.valueDone(this.scan);
              if (end >= 0) return end;
              continue;
            }
            case 64: // @
              if (this.depth === 0) this.need++;
              continue;
            case 35: // #
              this.textMode = TextMode.Hash;
              continue;
            case 58: case 44: case 59: // : , ; separate items inside compounds only
              if (this.depth === 0) throw new Cut(this.scan);
              continue;
          }
          this.textMode = TextMode.Word;
          continue;
        }
        case TextMode.Word: {
          if (!isDelimiter(c)) {
            this.scan++;
            continue;
          }
          this.textMode = TextMode.Value;
          const end = this.valueDone(this.scan);
          if (end >= 0) return end;
          continue; // the delimiter is scanned again in Value mode
        }
        case TextMode.Quoted: {
          this.scan++;
          if (this.escaped) this.escaped = false;
          else if (c === 92) this.escaped = true;
          else if (c === this.quote) {
            this.textMode = TextMode.Value;
            const end = this.valueDone(this.scan);
            if (end >= 0) return end;
          }
          continue;
        }
        case TextMode.Hash: {
          this.scan++;
          switch (c) {
            case 32: case 9: case 33: // "# " "#\t" "#!" start a comment
              this.textMode = TextMode.Comment;
              continue;
            case 10: case 13: // an empty comment
              this.textMode = TextMode.Value;
              continue;
            case 34: // #"
              this.quote = 34;
              this.escaped = false;
              this.textMode = TextMode.Quoted;
              continue;
            case 120: // #x
              this.textMode = TextMode.HashX;
              continue;
            case 91: // #[
              this.textMode = TextMode.Base64;
              continue;
            case 123: // #{
              this.textMode = TextMode.Value;
              this.open();
              continue;
            case 58: // #:
              this.textMode = TextMode.Value;
              continue;
            case 116: case 102: { // #t #f
              this.textMode = TextMode.Value;
              const end = this.valueDone(this.scan);
              if (end >= 0) return end;
              continue;
            }
          }
          throw new Cut(this.scan);
        }
        case TextMode.HashX:
          this.scan++;
          if (c === 34) this.textMode = TextMode.Hex;
          else if (c === 100) this.textMode = TextMode.HashXD;
          else throw new Cut(this.scan);
          continue;
        case TextMode.HashXD:
          this.scan++;
          if (c === 34) this.textMode = TextMode.Hex;
          else throw new Cut(this.scan);
          continue;
        case TextMode.Hex:
        case TextMode.Base64: {
          this.scan++;
          if (c === (this.textMode === TextMode.Hex ? 34 : 93)) {
            this.textMode = TextMode.Value;
            const end = this.valueDone(this.scan);
            if (end >= 0) return end;
          }
          continue;
        }
        case TextMode.Comment:
          this.scan++;
          if (c === 10 || c === 13) this.textMode = TextMode.Value;
          continue;
      }
    }
    return -1;
  }
}

/** Options of a packet writer. */
export interface PacketWriterOptions<T> {
  /** Initial output syntax (default binary). */
  syntax?: Syntax;
  /** Maps an embedded payload (a ref) to the value written inside the marker (a WireRef). */
  embeddedEncode?: (payload: T) => Value<any>;
}

const utf8Encoder = new TextEncoder();

/** Turns packets into bytes for the stream, in binary or in text ending with `\n` (§6.5). */
export class PacketWriter<T = unknown> {
  /** The syntax `encode` uses unless told otherwise; set it to mirror the peer (§6.6). */
  syntax: Syntax;
  private readonly embeddedEncode: ((payload: T) => Value<any>) | undefined;

  constructor(options: PacketWriterOptions<T> = {}) {
    this.syntax = options.syntax ?? 'binary';
    this.embeddedEncode = options.embeddedEncode;
  }

  /** Switches to the syntax of the last packet `reader` read, if it has read one. */
  mirror(reader: PacketReader<unknown>): void {
    const s = reader.lastSyntax;
    if (s !== undefined) this.syntax = s;
  }

  /** The bytes of one packet. */
  encode(packet: Packet<T>, syntax: Syntax = this.syntax): Uint8Array {
    const v = packetToValue(packet);
    if (syntax === 'text') return utf8Encoder.encode(stringify(v, { embeddedEncode: this.embeddedEncode }) + '\n');
    // Not canonical: sorting every dictionary costs an encode per key and receivers need no order.
    return encode(v, { canonical: false, embeddedEncode: this.embeddedEncode });
  }
}
