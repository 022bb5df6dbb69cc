// A per-service log directory in the manner of svlogd / s6-log: `current` receives lines,
// and when it would grow past the size limit it becomes `current.1` (older ones shift up to
// `current.N`, the oldest beyond the limit is deleted). Lines are timestamped and tagged.
import { chmod, mkdir, open, readdir, readFile, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import type { OutputLine } from './line-splitter.ts';

/** The name of the file being written; rotated files are `current.1` (newest) … `current.N`. */
export const CURRENT_LOG = 'current';

/** Limits of one service's log directory: the spec keys `logMaxSize` and `logFiles`. */
export interface LogFileOptions {
  /** Rotate before `current` would exceed this many bytes (a single longer line still goes in whole). */
  readonly maxSize: number;
  /** How many rotated files to keep besides `current` (0: rotation discards the old lines). */
  readonly files: number;
  /** Write and rotation errors (disk full…) are reported here, never thrown at the writer. */
  readonly onError?: (e: Error) => void;
}

let lastStampMs = NaN;
let lastStamp = '';

/** Formats one log line: `ISO-TIMESTAMP STREAM TEXT\n`, the output's own trailing newline dropped. */
export function formatLogLine(at: Date, stream: string, line: OutputLine): Buffer {
  const entry = formatEntry(at, stream, line);
  return typeof entry === 'string' ? Buffer.from(entry, 'utf8') : entry;
}

/**
 * One log entry, as text when the line is text (encoded with the rest of its batch, so a line
 * costs no Buffer of its own) or as bytes when it is not UTF-8.
 */
function formatEntry(at: Date, stream: string, line: OutputLine): string | Buffer {
  const ms = at.getTime();
  // A chatty daemon writes thousands of lines per millisecond: format the time once for them.
  if (ms !== lastStampMs) {
    lastStampMs = ms;
    lastStamp = at.toISOString();
  }
  if (typeof line === 'string') {
    const end = line.endsWith('\n') ? line.length - 1 : line.length;
    // One entry per line, always: an embedded newline would forge a second entry.
    const inner = line.indexOf('\n');
    const text = inner >= 0 && inner < end ? line.slice(0, end).replaceAll('\n', '\\n') : end === line.length ? line : line.slice(0, end);
    return lastStamp + ' ' + stream + ' ' + text + '\n';
  }
  const body = line.length > 0 && line[line.length - 1] === 0x0a ? line.subarray(0, -1) : line;
  const prefix = lastStamp + ' ' + stream + ' ';
  const out = Buffer.allocUnsafe(Buffer.byteLength(prefix) + body.length + 1);
  const n = out.write(prefix, 0, 'utf8');
  out.set(body, n);
  out[out.length - 1] = 0x0a;
  return out;
}

/** An open log directory. Writes are queued and applied in order; `flush()` waits for them. */
export class LogFile {
  readonly dir: string;
  private readonly options: LogFileOptions;
  private handle: FileHandle;
  private size: number;
  /** Entries not yet written, and their sizes in bytes (a string's is its UTF-8 length). */
  private queue: (string | Buffer)[] = [];
  private sizes: number[] = [];
  private pumping: Promise<void> | null = null;
  private closed = false;
  private queued = 0;
  private drainWaiters: (() => void)[] = [];

  private constructor(dir: string, options: LogFileOptions, handle: FileHandle, size: number) {
    this.dir = dir;
    this.options = options;
    this.handle = handle;
    this.size = size;
  }

  /**
   * Opens (creating if needed) the log directory `dir`, appending to an existing `current`.
   * The folder is 0700 and the files 0600 (daemon output may hold secrets), narrowed if an
   * existing one was wider.
   */
  static async open(dir: string, options: LogFileOptions): Promise<LogFile> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    if (((await stat(dir)).mode & 0o077) !== 0) await chmod(dir, 0o700);
    const handle = await openPrivate(path.join(dir, CURRENT_LOG));
    const size = (await handle.stat()).size;
    return new LogFile(dir, options, handle, size);
  }

  /** Bytes accepted but not yet written: a writer that falls behind shows here. */
  get backlog(): number {
    return this.queued;
  }

  /** Calls `f` once everything written so far is in the file (at once if it already is). */
  whenDrained(f: () => void): void {
    if (this.queued === 0) f();
    else this.drainWaiters.push(f);
  }

  /** Appends one output line of `stream`, stamped with `at`. Never throws; see `onError`. */
  write(stream: string, line: OutputLine, at: Date = new Date()): void {
    if (this.closed) return;
    const entry = formatEntry(at, stream, line);
    const size = typeof entry === 'string' ? Buffer.byteLength(entry, 'utf8') : entry.length;
    this.queue.push(entry);
    this.sizes.push(size);
    this.queued += size;
    this.pumping ??= this.pump().finally(() => { this.pumping = null; });
  }

  /** Resolves once every line written so far is in the file. */
  async flush(): Promise<void> {
    while (this.pumping !== null) await this.pumping;
  }

  /** Flushes and closes; later writes are dropped. */
  async close(): Promise<void> {
    await this.flush();
    this.closed = true;
    await this.handle.close();
  }

  private async pump(): Promise<void> {
    while (this.queue.length > 0) {
      const entries = this.queue;
      const sizes = this.sizes;
      this.queue = [];
      this.sizes = [];
      let total = 0;
      let from = 0;
      let batchSize = 0;
      try {
        for (let i = 0; i < entries.length; i++) {
          total += sizes[i];
          if (this.size + batchSize > 0 && this.size + batchSize + sizes[i] > this.options.maxSize) {
            await this.append(entries, from, i, batchSize);
            from = i;
            batchSize = 0;
            await this.rotate();
          }
          batchSize += sizes[i];
        }
        await this.append(entries, from, entries.length, batchSize);
      } catch (e) {
        this.options.onError?.(e instanceof Error ? e : new Error(String(e)));
      }
      this.queued -= total;
    }
    const ws = this.drainWaiters;
    this.drainWaiters = [];
    for (const w of ws) w();
  }

  /** Writes `entries[from, to)`, `batchSize` bytes, as one buffer. */
  private async append(entries: readonly (string | Buffer)[], from: number, to: number, batchSize: number): Promise<void> {
    if (batchSize === 0) return;
    const out = Buffer.allocUnsafe(batchSize);
    let at = 0;
    for (let i = from; i < to; i++) {
      const e = entries[i];
      at += typeof e === 'string' ? out.write(e, at, 'utf8') : (out.set(e, at), e.length);
    }
    await this.handle.write(out);
    this.size += batchSize;
  }

  private async rotate(): Promise<void> {
    await this.handle.close();
    const keep = this.options.files;
    // Delete what would fall off the end, including leftovers from a larger earlier `logFiles`.
    for (const n of await rotatedNumbers(this.dir)) {
      if (n >= keep) await rm(path.join(this.dir, `${CURRENT_LOG}.${n}`), { force: true });
    }
    for (let n = keep - 1; n >= 1; n--) {
      await rename(path.join(this.dir, `${CURRENT_LOG}.${n}`), path.join(this.dir, `${CURRENT_LOG}.${n + 1}`))
        .catch((e: NodeJS.ErrnoException) => { if (e.code !== 'ENOENT') throw e; });
    }
    const current = path.join(this.dir, CURRENT_LOG);
    if (keep > 0) await rename(current, path.join(this.dir, `${CURRENT_LOG}.1`));
    else await rm(current, { force: true });
    this.handle = await openPrivate(current);
    this.size = 0;
  }
}

/** Opens `file` for appending with mode 0600, narrowing an existing wider one. */
async function openPrivate(file: string): Promise<FileHandle> {
  const h = await open(file, 'a', 0o600);
  if (((await h.stat()).mode & 0o077) !== 0) await h.chmod(0o600);
  return h;
}

/** The numbers N of the `current.N` files in `dir`, ascending (newest first). */
async function rotatedNumbers(dir: string): Promise<number[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const prefix = CURRENT_LOG + '.';
  return names
    .filter((n) => n.startsWith(prefix) && /^[1-9][0-9]*$/.test(n.slice(prefix.length)))
    .map((n) => Number(n.slice(prefix.length)))
    .sort((a, b) => a - b);
}

/**
 * The last `n` lines of a service's log, oldest first, reading `current` and then as many
 * rotated files as needed (for `syndicate-ctl logs -n N`). An absent directory gives [].
 */
export async function readLastLines(dir: string, n: number): Promise<string[]> {
  if (n <= 0) return [];
  const files = [CURRENT_LOG, ...(await rotatedNumbers(dir)).map((k) => `${CURRENT_LOG}.${k}`)];
  let lines: string[] = [];
  for (const f of files) {
    const p = path.join(dir, f);
    if (!(await stat(p).then((s) => s.isFile(), () => false))) continue;
    const text = await readFile(p, 'utf8');
    const own = text.split('\n');
    if (own[own.length - 1] === '') own.pop();
    lines = own.concat(lines);
    if (lines.length >= n) break;
  }
  return lines.slice(Math.max(0, lines.length - n));
}
