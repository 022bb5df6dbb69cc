// TrIPE's conntrack.conf, read unchanged: comments (`#`, `;`), `test-addr = ADDR` before any
// group, `[group]` headers, `tag = [target] net` lines. Unlike TrIPE, which rejects the whole
// file at its first error, every error is collected (`file:line: message`, TrIPE's wording) and
// only the group it is in stops working.
import { sym } from '../preserves/index.ts';
import type { IpAddress } from './peer-address.ts';
import { PeerConfigError, addressAt, netAt, type PeerGroup, type PeerPattern } from './peer-group.ts';

/** What one conntrack.conf holds. */
export interface ConntrackFile {
  readonly testAddress: IpAddress | null;
  readonly groups: PeerGroup[];
  readonly errors: PeerConfigError[];
}

const COMMENT = /^\s*($|[;#])/;
const GRPHDR = /^\s*\[(.*)\]\s*$/;
const ASSGN = /^\s*([\w.-]+)\s*[:=]\s*(|\S|\S.*\S)\s*$/;

/** Parses the text of a conntrack.conf named `file`. Groups and tags become symbols. */
export function parseConntrackFile(file: string, text: string): ConntrackFile {
  const errors: PeerConfigError[] = [];
  let testAddress: IpAddress | null = null;
  interface Building { name: string; line: number; patterns: PeerPattern[]; broken: boolean }
  const built: Building[] = [];
  let current: Building | null = null;
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  lines.forEach((raw, i) => {
    const lno = i + 1;
    const at = `${file}:${lno}`;
    const line = raw.replace(/\r$/, '');
    try {
      if (COMMENT.test(line)) return;
      let m = GRPHDR.exec(line);
      if (m) {
        const name = m[1];
        const first = built.find((g) => g.name === name);
        // A second definition is read (so its lines give their own errors) but not kept: the
        // first one is marked broken instead.
        current = { name, line: lno, patterns: [], broken: first !== undefined };
        if (first === undefined) built.push(current);
        else {
          first.broken = true;
          throw new PeerConfigError(at, `duplicate group name \`${name}' (first at ${file}:${first.line})`);
        }
        return;
      }
      m = ASSGN.exec(line);
      if (!m) throw new PeerConfigError(at, `failed to parse line: ${JSON.stringify(line)}`);
      const [, name, value] = m;
      if (current === null) {
        if (name !== 'test-addr') throw new PeerConfigError(at, `unknown global option \`${name}'`);
        for (const a of value.split(/\s+/).filter((w) => w !== '')) {
          const addr = addressAt(a, at);
          if (testAddress !== null) throw new PeerConfigError(at, 'duplicate test-address');
          testAddress = addr;
        }
        return;
      }
      const g: Building = current;
      try {
        const spec = value.split(/\s+/).filter((w) => w !== '');
        let k = 0;
        let target: IpAddress | null = null;
        if (k < spec.length && !spec[k].includes('/')) target = addressAt(spec[k++], at);
        if (spec.length !== k + 1) throw new PeerConfigError(at, 'no network defined');
        g.patterns.push({ tag: sym(name), tagText: name, target, net: netAt(spec[k], at) });
      } catch (e) {
        g.broken = true;
        throw e;
      }
    } catch (e) {
      if (!(e instanceof PeerConfigError)) throw e;
      errors.push(e);
    }
  });
  const groups: PeerGroup[] = built.map((b) => ({
    name: sym(b.name),
    nameText: b.name,
    patterns: b.patterns,
    origin: `${file}:${b.line}`,
    testAddress,
    broken: b.broken,
  }));
  return { testAddress, groups, errors };
}
