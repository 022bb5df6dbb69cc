import type { Position, Value } from '../preserves/index.ts';

/** A script value as read: annotated with its source position. Embedded payloads never occur. */
export type Token = Value<unknown>;

/** The right-hand side of `let` (spec §1.4). */
export type Expr =
  | { kind: 'dataspace' }
  | { kind: 'timestamp' }
  | { kind: 'facet' }
  | { kind: 'scriptdir' }
  | { kind: 'stringify'; arg: Expr }
  | { kind: 'join'; separator: Expr; pieces: Expr }
  | { kind: 'template'; template: Token };

/**
 * One parsed instruction (spec §1.3). `target` names the variable holding the ref that
 * assertions, messages and observers go to.
 */
export type Instruction =
  | { kind: 'assert'; target: string; template: Token; pos: Position | null }
  | { kind: 'send'; target: string; template: Token; pos: Position | null }
  | { kind: 'block'; body: Instruction[]; pos: Position | null }
  | { kind: 'during'; target: string; pattern: Token; body: Instruction; pos: Position | null }
  | { kind: 'on-message'; target: string; pattern: Token; body: Instruction; pos: Position | null }
  | { kind: 'on-stop'; body: Instruction; pos: Position | null }
  | { kind: 'let'; pattern: Token; expr: Expr; pos: Position | null }
  | { kind: 'match'; variable: string; pattern: Token; then: Instruction; otherwise: Instruction[]; pos: Position | null };
