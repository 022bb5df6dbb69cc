// preserves-tool: convert Preserves between syntaxes, or check that input parses.
import { readFileSync } from 'node:fs';
import {
  type Value, BinaryReader, TextReader, DecodeError, EncodeError, encode, stringify, formatPosition,
} from '../preserves/index.ts';

/** What `preserves-tool` was asked to do, from its command line. */
export interface ToolOptions {
  command: 'convert' | 'check';
  inputFormat: 'text' | 'binary' | 'auto';
  outputFormat: 'text' | 'indented' | 'binary' | 'canonical';
}

const USAGE = `usage: preserves-tool convert [--input-format text|binary|auto] [--output-format text|indented|binary|canonical]
       preserves-tool check [--input-format text|binary|auto]
Reads values from standard input (many per stream) and writes to standard output.`;

/** Parses the command line; throws an Error with a usage message on bad arguments. */
export function parseArgs(argv: string[]): ToolOptions {
  const opts: ToolOptions = { command: 'convert', inputFormat: 'auto', outputFormat: 'text' };
  const [command, ...rest] = argv;
  if (command !== 'convert' && command !== 'check') throw new Error(USAGE);
  opts.command = command;
  for (let i = 0; i < rest.length; i++) {
    const [flag, inline] = rest[i].split('=', 2);
    const arg = inline ?? rest[++i];
    if (flag === '--input-format' && (arg === 'text' || arg === 'binary' || arg === 'auto')) opts.inputFormat = arg;
    else if (flag === '--output-format' && (arg === 'text' || arg === 'indented' || arg === 'binary' || arg === 'canonical')) opts.outputFormat = arg;
    else throw new Error(`preserves-tool: bad argument ${rest[i]}\n${USAGE}`);
  }
  return opts;
}

/** Binary input starts with a tag byte (>= 0x80) after any whitespace; text never does. */
function looksBinary(input: Uint8Array): boolean {
  for (const b of input) {
    if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) continue;
    return b >= 0x80;
  }
  return false;
}

/** Reads every value of the input in the given (or detected) syntax. */
export function readValues(input: Uint8Array, format: ToolOptions['inputFormat']): Value[] {
  const binary = format === 'binary' || (format === 'auto' && looksBinary(input));
  const out: Value[] = [];
  if (binary) {
    const r = new BinaryReader(input, { includeAnnotations: true });
    while (!r.atEnd()) out.push(r.read());
  } else {
    const text = new TextDecoder('utf-8', { fatal: true }).decode(input);
    const r = new TextReader(text, { includeAnnotations: true });
    for (let v = r.next(); v !== undefined; v = r.next()) out.push(v);
  }
  return out;
}

/** Writes values in the requested syntax. */
export function writeValues(values: Value[], format: ToolOptions['outputFormat']): Uint8Array {
  switch (format) {
    case 'text': return Buffer.from(values.map((v) => stringify(v) + '\n').join(''));
    case 'indented': return Buffer.from(values.map((v) => stringify(v, { indent: 2 }) + '\n').join(''));
    case 'binary': return Buffer.concat(values.map((v) => encode(v, { includeAnnotations: true })));
    case 'canonical': return Buffer.concat(values.map((v) => encode(v)));
  }
}

/** Runs the tool; returns the exit code. */
export function main(argv: string[], input: Uint8Array, out: (b: Uint8Array) => void, err: (s: string) => void): number {
  let opts: ToolOptions;
  try {
    opts = parseArgs(argv);
  } catch (e) {
    err((e as Error).message + '\n');
    return 2;
  }
  try {
    const values = readValues(input, opts.inputFormat);
    if (opts.command === 'convert') out(writeValues(values, opts.outputFormat));
    else if (values.length === 0) {
      // A check of nothing checked nothing: say so, as for any other input that is no value.
      err('no value in the input (it is empty or holds only whitespace and comments)\n');
      return 1;
    }
    return 0;
  } catch (e) {
    if (e instanceof DecodeError) {
      err((e.pos ? formatPosition(e.pos) + ': ' + e.detail : e.message) + '\n');
      return 1;
    }
    if (e instanceof EncodeError) {
      err(e.message + '\n');
      return 1;
    }
    if (e instanceof TypeError && /encoded data/.test(e.message)) {
      err('input is not valid UTF-8 text\n');
      return 1;
    }
    throw e;
  }
}

/** The process entry point: standard input to standard output. */
export function run(): void {
  const input = new Uint8Array(readFileSync(0));
  process.exitCode = main(process.argv.slice(2), input, (b) => process.stdout.write(b), (s) => process.stderr.write(s));
}
