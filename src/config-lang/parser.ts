import { type Value, Record, Dictionary, peel, positionOf } from '../preserves/index.ts';
import type { Expr, Instruction, Token } from './instruction.ts';
import { ScriptError } from './script-error.ts';
import { classifySymbol, symbolText } from './symbol-class.ts';

/** The outcome of parsing a script: instructions, or every error found (then nothing runs). */
export interface ParseResult {
  instructions: Instruction[];
  errors: ScriptError[];
}

const EXPR_KEYWORDS = new Set(['dataspace', 'timestamp', 'facet', 'scriptdir']);

/**
 * How deep instructions may nest: each `?`, `??`, `?-`, `$x` prefix, `=~` (its then and else
 * parts) and `[...]` block, and each `stringify`/`join` argument, is one level. The parser, the
 * validator and the evaluator recurse per level, so past this a script is one error instead of a
 * stack overflow. The same 1000 as the Preserves readers' nesting limit.
 */
export const MAX_SCRIPT_NESTING = 1000;

/** Thrown inside the parser to abandon a script nested past MAX_SCRIPT_NESTING. */
class TooDeep {
  constructor(readonly at: Token, readonly what: string) {}
}

/** Parses the tokens of a script (spec §1.3), collecting every error rather than stopping. */
export function parseScript(tokens: Token[]): ParseResult {
  const p = new ScriptParser();
  try {
    const instructions = p.sequence(tokens, 'config', 'config', 0);
    return { instructions, errors: p.errors };
  } catch (e) {
    if (!(e instanceof TooDeep)) throw e;
    // Whatever follows the error is cut off mid-instruction: report only this one.
    const message = `${e.what} nested deeper than ${MAX_SCRIPT_NESTING} levels`;
    return { instructions: [], errors: [...p.errors, new ScriptError(message, positionOf(e.at as Value) ?? null)] };
  }
}

class Cursor {
  i = 0;
  constructor(readonly tokens: Token[]) {}
  get done(): boolean { return this.i >= this.tokens.length; }
  peek(): Token | undefined { return this.tokens[this.i]; }
  next(): Token | undefined { return this.tokens[this.i++]; }
}

class ScriptParser {
  readonly errors: ScriptError[] = [];

  private error(message: string, at: Token | undefined, fallback: Token | undefined): void {
    this.errors.push(new ScriptError(message, positionOf((at ?? fallback) as Value) ?? null));
  }

  /** Parses all tokens as a sequence of instructions with current target T and outer target O. */
  sequence(tokens: Token[], target: string, outer: string, depth: number): Instruction[] {
    const c = new Cursor(tokens);
    const out: Instruction[] = [];
    while (!c.done) {
      const ins = this.instruction(c, target, outer, depth);
      if (ins) out.push(ins);
    }
    return out;
  }

  private instruction(c: Cursor, target: string, outer: string, depth: number): Instruction | null {
    const tok = c.next()!;
    if (depth > MAX_SCRIPT_NESTING) throw new TooDeep(tok, 'Instructions');
    const pos = positionOf(tok as Value);
    const v = peel(tok as Value);
    if (v instanceof Record || v instanceof Dictionary) return { kind: 'assert', target, template: tok, pos };
    if (Array.isArray(v)) return { kind: 'block', body: this.sequence(v, target, outer, depth + 1), pos };
    const name = symbolText(v);
    if (name === null) {
      this.error('Invalid token: only records and dictionaries can be asserted bare (use += for other values)', tok, undefined);
      return null;
    }
    switch (name) {
      case '?':
      case '??': {
        const pattern = c.next();
        if (pattern === undefined) { this.error(`Missing pattern after ${name}`, tok, undefined); return null; }
        if (c.done) { this.error(`Missing body after ${name} pattern`, pattern, tok); return null; }
        const body = this.instruction(c, target, outer, depth + 1);
        if (!body) return null;
        return { kind: name === '?' ? 'during' : 'on-message', target, pattern, body, pos };
      }
      case '?-': {
        if (c.done) { this.error('Missing body after ?-', tok, undefined); return null; }
        const body = this.instruction(c, target, outer, depth + 1);
        return body ? { kind: 'on-stop', body, pos } : null;
      }
      case '!':
      case '+=': {
        const template = c.next();
        if (template === undefined) { this.error(`Missing value after ${name}`, tok, undefined); return null; }
        return { kind: name === '!' ? 'send' : 'assert', target, template, pos };
      }
      case 'let': return this.letStatement(c, tok, depth);
      case '=~': {
        const pattern = c.next();
        if (pattern === undefined) { this.error('Missing pattern after =~', tok, undefined); return null; }
        if (c.done) { this.error('Missing instruction after =~ pattern', pattern, tok); return null; }
        const then = this.instruction(c, outer, outer, depth + 1);
        // Every remaining instruction of the enclosing sequence is the else branch (spec §1.3).
        const otherwise: Instruction[] = [];
        while (!c.done) {
          const ins = this.instruction(c, outer, outer, depth + 1);
          if (ins) otherwise.push(ins);
        }
        return then ? { kind: 'match', variable: target, pattern, then, otherwise, pos } : null;
      }
    }
    const cls = classifySymbol(v as symbol);
    switch (cls.kind) {
      case 'reference': {
        if (c.done) { this.error(`Retarget $${cls.name} at end of input`, tok, undefined); return null; }
        return this.instruction(c, cls.name, target, depth + 1);
      }
      case 'binder': this.error('Invalid use of pattern binder in target', tok, undefined); return null;
      case 'discard': this.error('Invalid use of discard in target', tok, undefined); return null;
      default: this.error(`Invalid token ${name}`, tok, undefined); return null;
    }
  }

  private letStatement(c: Cursor, letTok: Token, depth: number): Instruction | null {
    const pos = positionOf(letTok as Value);
    const pattern = c.next();
    const eq = c.next();
    if (pattern === undefined || eq === undefined || symbolText(eq as Value) !== '=') {
      this.error('Invalid let statement: expected let PATTERN = EXPRESSION', eq ?? pattern, letTok);
      return null;
    }
    const expr = this.expr(c, eq, depth + 1);
    return expr ? { kind: 'let', pattern, expr, pos } : null;
  }

  private expr(c: Cursor, before: Token, depth: number): Expr | null {
    const tok = c.next();
    if (tok === undefined) { this.error('Missing expression', before, undefined); return null; }
    if (depth > MAX_SCRIPT_NESTING) throw new TooDeep(tok, 'Expressions');
    const name = symbolText(tok as Value);
    if (name !== null && EXPR_KEYWORDS.has(name)) return { kind: name } as Expr;
    if (name === 'stringify') {
      const arg = this.expr(c, tok, depth + 1);
      return arg ? { kind: 'stringify', arg } : null;
    }
    if (name === 'join') {
      const separator = this.expr(c, tok, depth + 1);
      if (!separator) return null;
      const pieces = this.expr(c, tok, depth + 1);
      return pieces ? { kind: 'join', separator, pieces } : null;
    }
    return { kind: 'template', template: tok };
  }
}
