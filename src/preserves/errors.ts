/** Where a value or an error sits in a text document (line and column are 1-based). */
export interface Position {
  name?: string;
  line: number;
  column: number;
  offset: number;
}

/** Formats a position as `name:line:column`, or `line:column` with no name. */
export function formatPosition(p: Position): string {
  return (p.name !== undefined ? p.name + ':' : '') + p.line + ':' + p.column;
}

/** A syntax error in text or binary input; the base of every error the readers raise. */
export class DecodeError extends Error {
  readonly pos: Position | null;
  readonly detail: string;
  constructor(message: string, pos: Position | null = null) {
    super(pos ? formatPosition(pos) + ': ' + message : message);
    this.name = 'DecodeError';
    this.pos = pos;
    this.detail = message;
  }
}

/** Input ended in the middle of a value ("premature EOF"). */
export class ShortInput extends DecodeError {
  constructor(message = 'unexpected end of input', pos: Position | null = null) {
    super(message, pos);
    this.name = 'ShortInput';
  }
}

/** Input ended before any byte of a value was seen ("immediate EOF"). */
export class EndOfInput extends ShortInput {
  constructor(message = 'no input', pos: Position | null = null) {
    super(message, pos);
    this.name = 'EndOfInput';
  }
}

/** A value that cannot be written (for example a string holding a lone surrogate). */
export class EncodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EncodeError';
  }
}
