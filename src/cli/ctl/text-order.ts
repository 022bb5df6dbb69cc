// The order syndicate-ctl lists services in: `String.prototype.localeCompare`'s, computed directly
// for printable ASCII when the locale collates like English. The first localeCompare of a process
// loads ICU's collation data, about 15 ms: a quarter of a whole `syndicate-ctl status`.

/**
 * Printable ASCII in the order of the root (and English) collation at its first level: spaces and
 * punctuation, symbols, digits, then letters with each lower- and upper-case pair equal.
 */
const ROOT_ORDER = ` _-,;:!?.'"()[]{}@*/\\&#%\`^+<=>|~$0123456789aAbBcCdDeEfFgGhHiIjJkKlLmMnNoOpPqQrRsStTuUvVwWxXyYzZ`;

const primary = new Uint8Array(128);
const upper = new Uint8Array(128);
for (let i = 0, rank = 1; i < ROOT_ORDER.length; i++) {
  const c = ROOT_ORDER.charCodeAt(i);
  const isUpper = c >= 65 && c <= 90;
  if (isUpper) upper[c] = 1;
  else rank++;
  primary[c] = isUpper ? primary[c + 32] : rank;
}

function printableAscii(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

/**
 * Whether `localeCompare` collates like root for `env`: its locale is the first set of LC_ALL,
 * LC_MESSAGES and LANG (as Node's ICU picks it); C, POSIX and English have no tailoring of ASCII.
 */
export function rootCollation(env: NodeJS.ProcessEnv): boolean {
  const locale = env.LC_ALL || env.LC_MESSAGES || env.LANG || '';
  return locale === '' || /^(C|POSIX|en)([._@-]|$)/.test(locale);
}

/** Compares as `a.localeCompare(b)` would; `root` says the locale collates like root (see rootCollation). */
export function compareTextIn(root: boolean, a: string, b: string): number {
  if (!root || !printableAscii(a) || !printableAscii(b)) return a.localeCompare(b);
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = primary[a.charCodeAt(i)] - primary[b.charCodeAt(i)];
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  // Equal but for case: the first difference decides, lower case first.
  for (let i = 0; i < n; i++) {
    const d = upper[a.charCodeAt(i)] - upper[b.charCodeAt(i)];
    if (d !== 0) return d < 0 ? -1 : 1;
  }
  return 0;
}

let rootHere: boolean | undefined;

/** Compares as `a.localeCompare(b)` would in this process's locale. */
export function compareText(a: string, b: string): number {
  rootHere ??= rootCollation(process.env);
  return compareTextIn(rootHere, a, b);
}
