// The logger (spec §5.7): prints every `<log TIMESTAMP {...}>` message of the log dataspace
// as one readable line.
import { P, type Ref, type Turn } from '../bus/index.ts';
import { formatLogLine } from '../config-lang/log-line.ts';

/** Prints log messages arriving at `logSpace` with `write` (default: stderr), in the active facet. */
export function startLogger(t: Turn, logSpace: Ref, write: (line: string) => void = (l) => void process.stderr.write(l + '\n')): void {
  t.onMessage(logSpace, P.rec('log', P.bind(), P.bind()), (_t, [timestamp, details]) => write(formatLogLine(timestamp, details)));
}
