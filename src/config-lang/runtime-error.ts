import { type Position, type Value, positionOf } from '../preserves/index.ts';
import { ScriptError } from './script-error.ts';

/** An error while a script runs (undefined variable, failed `let`, bad target...): stops its facet. */
export class ScriptRuntimeError extends ScriptError {
  constructor(detail: string, pos: Position | null) {
    super(detail, pos);
    this.name = 'ScriptRuntimeError';
  }

  /** An error located at a token (falling back to another position when the token has none). */
  static at(detail: string, token: unknown, fallback: Position | null = null): ScriptRuntimeError {
    const pos = token === null || token === undefined ? null : positionOf(token as Value);
    return new ScriptRuntimeError(detail, pos ?? fallback);
  }
}
