import { type Position, formatPosition } from '../preserves/index.ts';

/** An error in a config script, at a position in a file: prints as `path:line:column: message`. */
export class ScriptError extends Error {
  readonly pos: Position | null;
  readonly detail: string;
  constructor(detail: string, pos: Position | null) {
    super(pos ? `${formatPosition(pos)}: ${detail}` : detail);
    this.name = 'ScriptError';
    this.pos = pos;
    this.detail = detail;
  }
}
