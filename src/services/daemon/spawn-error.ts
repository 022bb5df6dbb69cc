/** A process could not be started: names the program (or the directory) and the OS reason. */
export class SpawnError extends Error {
  readonly program: string;
  /** The errno code (`ENOENT`, `EACCES`, …) when the OS gave one. */
  readonly code: string | null;
  constructor(program: string, cause: unknown, detail?: string) {
    const code = errnoCode(cause);
    const reason = detail ?? (code !== null ? describeCode(code) : String(cause));
    super(`cannot start program "${program}": ${reason}${code !== null && detail === undefined ? ` (${code})` : ''}`,
      cause === null ? undefined : { cause });
    this.name = 'SpawnError';
    this.program = program;
    this.code = code;
  }
}

function errnoCode(e: unknown): string | null {
  if (typeof e === 'object' && e !== null && 'code' in e && typeof e.code === 'string') return e.code;
  return null;
}

function describeCode(code: string): string {
  switch (code) {
    case 'ENOENT': return 'not found';
    case 'EACCES': return 'permission denied';
    case 'ENOEXEC': return 'not an executable';
    case 'EMFILE': return 'too many open files in the bus';
    case 'ENFILE': return 'too many open files in the system';
    case 'EAGAIN': return 'out of processes or memory';
    case 'ENOMEM': return 'out of memory';
    default: return 'spawn failed';
  }
}
