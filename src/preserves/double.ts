/** A Preserves Double: never equal to an integer, keeps -0.0 and every NaN payload. */
export class Double {
  readonly value: number;
  /** The 8 big-endian IEEE bytes, kept only for NaNs (V8 may rewrite a NaN's payload). */
  readonly nanBits: Uint8Array | null;

  constructor(value: number, nanBits: Uint8Array | null = null) {
    this.value = value;
    this.nanBits = Number.isNaN(value) ? (nanBits ?? canonicalNaN()) : null;
  }

  /** Reads a double from 8 big-endian bytes, keeping NaN payloads. */
  static fromBytes(b: Uint8Array, offset = 0): Double {
    const dv = new DataView(b.buffer, b.byteOffset + offset, 8);
    const v = dv.getFloat64(0, false);
    return new Double(v, Number.isNaN(v) ? b.slice(offset, offset + 8) : null);
  }

  /** The 8 big-endian IEEE bytes of this double. */
  toBytes(): Uint8Array {
    if (this.nanBits) return this.nanBits.slice();
    const out = new Uint8Array(8);
    new DataView(out.buffer).setFloat64(0, this.value, false);
    return out;
  }

  /** The bits as an unsigned 64-bit integer. */
  bits(): bigint {
    return new DataView(this.toBytes().buffer).getBigUint64(0, false);
  }

  toString(): string {
    return 'Double(' + (Object.is(this.value, -0) ? '-0' : String(this.value)) + ')';
  }
}

function canonicalNaN(): Uint8Array {
  return Uint8Array.of(0x7f, 0xf8, 0, 0, 0, 0, 0, 0);
}
