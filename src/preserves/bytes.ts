/** A Preserves ByteString: an immutable sequence of octets. */
export class Bytes {
  readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array | ArrayLike<number> = new Uint8Array(0)) {
    this.bytes = bytes instanceof Uint8Array ? bytes : Uint8Array.from(bytes);
  }

  /** Bytes of a JS string, encoded as UTF-8. */
  static fromUtf8(s: string): Bytes {
    return new Bytes(new TextEncoder().encode(s));
  }

  /** Bytes from a hex string (whitespace not allowed). */
  static fromHex(hex: string): Bytes {
    const out = new Uint8Array(hex.length >> 1);
    for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.substr(i * 2, 2), 16);
    return new Bytes(out);
  }

  get length(): number {
    return this.bytes.length;
  }

  /** Lower-case hex of the bytes. */
  toHex(): string {
    let s = '';
    for (const b of this.bytes) s += (b < 16 ? '0' : '') + b.toString(16);
    return s;
  }

  /** Each byte as one char (code 0..255): a compact, injective string form. */
  toLatin1(): string {
    let s = '';
    const b = this.bytes;
    for (let i = 0; i < b.length; i += 4096) {
      s += String.fromCharCode.apply(null, b.subarray(i, i + 4096) as unknown as number[]);
    }
    return s;
  }

  toString(): string {
    return '#x"' + this.toHex() + '"';
  }
}
