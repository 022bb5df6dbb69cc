// Reads and writes a corpus typical of the bus in Preserves text and binary, against JSON.
import { type Value, Record, decodeAll, encode, parseAll, stringify, BinaryWriter } from '../src/preserves/index.ts';
import { figure, report, timeIt, type Figure } from './report.ts';
import { startBusy } from './busy.ts';

startBusy(); // --busy: a CPU burner for this bench's whole run (bench/busy.ts)

const N = 30000;
const sym = Symbol.for;

/** The corpus: service states, interfaces and routes, as Preserves values and as JSON. */
function corpus(): { values: Value[]; json: unknown[] } {
  const values: Value[] = [];
  const json: unknown[] = [];
  for (let i = 0; i < N; i++) {
    switch (i % 3) {
      case 0:
        values.push(new Record(sym('service-state'), [new Record(sym('daemon'), [sym('svc' + i)]), sym('ready')]));
        json.push({ _: 'service-state', f: [{ _: 'daemon', f: ['svc' + i] }, 'ready'] });
        break;
      case 1: {
        const mac = 'aa:bb:cc:dd:' + ((i >> 8) & 0xff).toString(16).padStart(2, '0') + ':' + (i & 0xff).toString(16).padStart(2, '0');
        values.push(new Record(sym('interface'), ['eth' + i, i, sym('normal'), sym('up'), sym('up'), sym('carrier'), mac]));
        json.push({ _: 'interface', f: ['eth' + i, i, 'normal', 'up', 'up', 'carrier', mac] });
        break;
      }
      default:
        values.push(new Record(sym('route'), [sym('ipv4'), sym('default'), 0, 0, 'eth' + i, '192.0.2.' + (i % 250)]));
        json.push({ _: 'route', f: ['ipv4', 'default', 0, 0, 'eth' + i, '192.0.2.' + (i % 250)] });
    }
  }
  return { values, json };
}

/** Runs the benchmark and returns its figures. */
export function bench(): Figure[] {
  const { values, json } = corpus();
  const w = new BinaryWriter({}, 1 << 20);
  const writeBinary = () => { w.reset(); for (const v of values) w.write(v); return w.contents(); };
  const binary = writeBinary();
  const text = values.map((v) => stringify(v)).join('\n');
  const jsonText = JSON.stringify(json);

  const tJsonParse = timeIt(() => JSON.parse(jsonText));
  const tJsonWrite = timeIt(() => JSON.stringify(json));
  const tBinRead = timeIt(() => decodeAll(binary));
  const tBinWrite = timeIt(writeBinary);
  const tTextRead = timeIt(() => parseAll(text));
  const tTextWrite = timeIt(() => values.map((v) => stringify(v)).join('\n'));
  const tCanon = timeIt(() => { for (const v of values) encode(v); });

  const perSec = (t: number) => N / t;
  return [
    figure('preserves', 'binary read', perSec(tBinRead), 'records/s', perSec(tJsonParse)),
    figure('preserves', 'binary write', perSec(tBinWrite), 'records/s', perSec(tJsonWrite)),
    figure('preserves', 'text read', perSec(tTextRead), 'records/s', perSec(tJsonParse)),
    figure('preserves', 'text write', perSec(tTextWrite), 'records/s', perSec(tJsonWrite)),
    figure('preserves', 'canonical encode, one value per call', perSec(tCanon), 'records/s', perSec(tJsonWrite)),
    figure('preserves', 'binary size', binary.length / N, 'bytes/record', Buffer.byteLength(jsonText) / N),
    figure('preserves', 'text size', Buffer.byteLength(text) / N, 'bytes/record', Buffer.byteLength(jsonText) / N),
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) report(bench());
