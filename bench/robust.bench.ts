// Hostile-size inputs (issue 10): a 1 MB binary integer and a 24-deep nested set, decoded and
// encoded, against a 1 MB byte string in the same run; and a million-digit integer in text.
import { type Value, Bytes, KeyedSet, decode, encode, parse, stringify } from '../src/preserves/index.ts';
import { figure, report, timeIt, type Figure } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const MB = 1 << 20;

/** Sets nested `depth` deep, two members per level (`#{#{... 1} 0}`), as in the issue. */
function nestedSets(depth: number): Value {
  let v: Value = new KeyedSet([0]);
  for (let d = 1; d < depth; d++) v = new KeyedSet<unknown>([v, d]);
  return v;
}

/** Runs the benchmark and returns its figures (times in ms). */
export function bench(): Figure[] {
  const body = new Uint8Array(MB).map((_, i) => (i * 131 + 7) & 0xff);
  body[0] = 0x12; // a positive integer whose first byte keeps the encoding minimal
  const byteString = encode(new Bytes(body));
  const integerBytes = new Uint8Array(byteString);
  integerBytes[0] = 0xb0; // same length prefix, SignedInteger tag
  const integer = decode(integerBytes) as bigint;
  const nested24 = nestedSets(24);
  const nested24Bytes = encode(nested24);
  const nested500 = nestedSets(500);
  const nested500Bytes = encode(nested500);
  const digits = '9876543210'.repeat(100_000);
  const million = parse(digits) as bigint;

  const ms = (f: () => unknown, runs?: number) => timeIt(f, runs) * 1000;
  const tBytesDecode = ms(() => decode(byteString));
  const tBytesEncode = ms(() => encode(new Bytes(body)));
  const tIntDecode = ms(() => decode(integerBytes));
  const tIntEncode = ms(() => encode(integer));
  const tSetDecode = ms(() => decode(nested24Bytes));
  const tSetEncode = ms(() => encode(nested24));
  const tSet500Decode = ms(() => decode(nested500Bytes));
  const tSet500Encode = ms(() => encode(nested500));
  const tSetText = ms(() => stringify(nested24, { indent: 2 }));
  const tMillionParse = ms(() => parse(digits), 3);
  const tMillionWrite = ms(() => stringify(million), 3);
  const tMillionEncode = ms(() => encode(million), 3);

  return [
    figure('robust', 'decode 1 MB integer', tIntDecode, 'ms', tBytesDecode),
    figure('robust', `decode 24-deep nested set (${nested24Bytes.length} bytes)`, tSetDecode, 'ms', tBytesDecode),
    figure('robust', `decode 500-deep nested set (${nested500Bytes.length} bytes)`, tSet500Decode, 'ms', tBytesDecode),
    figure('robust', 'canonical encode 1 MB integer', tIntEncode, 'ms', tBytesEncode),
    figure('robust', 'canonical encode 24-deep nested set', tSetEncode, 'ms', tBytesEncode),
    figure('robust', 'canonical encode 500-deep nested set', tSet500Encode, 'ms', tBytesEncode),
    figure('robust', 'indented text of 24-deep nested set', tSetText, 'ms', tBytesEncode),
    figure('robust', 'binary encode 1 000 000-digit integer', tMillionEncode, 'ms', tMillionParse),
    figure('robust', 'text write 1 000 000-digit integer', tMillionWrite, 'ms', tMillionParse),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(bench());
