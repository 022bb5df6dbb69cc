// Splits a byte stream into lines the way the reference delivers daemon output (spec §3.4):
// split on `\n`, the newline kept, a final unterminated line delivered at the end, a line that
// is not valid UTF-8 delivered as bytes.

/** One line of output: a string when it is valid UTF-8, its bytes otherwise; `\n` kept if present. */
export type OutputLine = string | Uint8Array;

/** Lines longer than this are cut (and delivered in pieces) so a daemon cannot exhaust our memory. */
export const MAX_LINE_BYTES = 64 * 1024;

const NEWLINE = 0x0a;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** Feeds chunks in, calls `onLine` for every complete line; `end()` flushes the last one. */
export class LineSplitter {
  private readonly pending: Uint8Array[] = [];
  private pendingLength = 0;
  private readonly onLine: (line: OutputLine) => void;
  private readonly maxLine: number;

  constructor(onLine: (line: OutputLine) => void, maxLine = MAX_LINE_BYTES) {
    this.onLine = onLine;
    this.maxLine = maxLine;
  }

  /** Takes the next chunk of the stream. */
  push(chunk: Uint8Array): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NEWLINE, start);
      const stop = nl < 0 ? chunk.length : nl + 1;
      if (nl >= 0 && this.pendingLength === 0 && stop - start <= this.maxLine) {
        // The common case, a whole line inside one chunk: decoded straight from the chunk,
        // no copy (bytes are copied only when they are not UTF-8 and must outlive the chunk).
        this.onLine(decode(chunk.subarray(start, stop), true));
        start = stop;
        if (start >= chunk.length) return;
        continue;
      }
      let piece = chunk.subarray(start, stop);
      // Cut over-long lines at the limit; the rest carries on as the next piece.
      while (this.pendingLength + piece.length > this.maxLine) {
        const room = this.maxLine - this.pendingLength;
        this.keep(piece.subarray(0, room));
        this.emit();
        piece = piece.subarray(room);
      }
      this.keep(piece);
      if (nl < 0) return;
      this.emit();
      start = nl + 1;
      if (start >= chunk.length) return;
    }
  }

  /** The stream ended: delivers an unterminated last line, if any. */
  end(): void {
    if (this.pendingLength > 0) this.emit();
  }

  private keep(piece: Uint8Array): void {
    if (piece.length === 0) return;
    // Copy: stream chunks may be pooled buffers reused after the callback returns.
    this.pending.push(piece.slice());
    this.pendingLength += piece.length;
  }

  private emit(): void {
    const bytes = this.pending.length === 1 ? this.pending[0] : concat(this.pending, this.pendingLength);
    this.pending.length = 0;
    this.pendingLength = 0;
    this.onLine(decode(bytes, false));
  }
}

/** The line as a string when it is valid UTF-8, else its bytes (copied when `borrowed`). */
function decode(bytes: Uint8Array, borrowed: boolean): OutputLine {
  try {
    return strictUtf8.decode(bytes);
  } catch {
    return borrowed ? bytes.slice() : bytes;
  }
}

function concat(parts: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
