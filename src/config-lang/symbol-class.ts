import { type Value, peel } from '../preserves/index.ts';

/** How the script language reads a symbol (spec §1.2): checked in this order. */
export type SymbolClass =
  | { kind: 'discard' }
  | { kind: 'binder'; name: string }
  | { kind: 'reference'; name: string }
  | { kind: 'literal'; symbol: symbol }
  | { kind: 'bare'; symbol: symbol };

/** Classifies a symbol by its spelling: `_`, `?x`, `$x`, `=x`, or bare. */
export function classifySymbol(s: symbol): SymbolClass {
  const n = s.description ?? '';
  if (n === '_') return { kind: 'discard' };
  switch (n[0]) {
    case '?': return { kind: 'binder', name: n.slice(1) };
    case '$': return { kind: 'reference', name: n.slice(1) };
    case '=': return { kind: 'literal', symbol: Symbol.for(n.slice(1)) };
  }
  return { kind: 'bare', symbol: s };
}

/** The symbol's name if `v` (annotations ignored) is a symbol, else null. */
export function symbolText(v: Value<unknown>): string | null {
  const p = peel(v);
  return typeof p === 'symbol' ? p.description ?? '' : null;
}
