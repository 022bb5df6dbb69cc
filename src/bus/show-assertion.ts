// Assertions as text for people (logs, consoles, tests): refs print as `#:ref`.
import { stringify, sym } from '../preserves/index.ts';
import type { Assertion } from './ref.ts';

const REF = sym('ref');

/** Preserves text of an assertion; embedded refs, which have no text form, print as `#:ref`. */
export function showAssertion(v: Assertion): string {
  return stringify(v, { embeddedEncode: () => REF });
}
