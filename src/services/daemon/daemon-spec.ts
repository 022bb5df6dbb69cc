// The one place that knows the shape of the SPEC in `<daemon ID SPEC>` (syndicate-server spec
// §3.1, plus our extension keys): everything else uses the typed `DaemonSpec`.
import { Dictionary, Double, Record, peel, stringify, symbolName, type Value } from '../../preserves/index.ts';
import type { Command } from './command.ts';

/** What happens when a process exits (spec §3.3). */
export type RestartPolicy = 'always' | 'on-error' | 'all' | 'never';

/** How the process's stdio is used (spec §3.5). */
export type DaemonProtocol = 'none' | 'application/syndicate' | 'text/syndicate';

/** Readiness signalled by the process itself: a line on fd N (s6-style) or sd_notify `READY=1`. */
export type ReadyNotify = { readonly kind: 'fd'; readonly fd: number } | { readonly kind: 'sd-notify' };

/** A periodic health check (runit's "pinger"): N failures in a row restart the daemon. */
export interface HealthCheckSpec {
  readonly command: Command;
  readonly intervalMs: number;
  readonly timeoutMs: number;
  readonly failures: number;
}

/** A fully parsed daemon process spec, every default filled in. Durations are milliseconds. */
export interface DaemonSpec {
  readonly command: Command;
  /** True for `<one-shot CMD>`. */
  readonly oneShot: boolean;
  /** Variables to set (a string) or remove (null), applied in order after `clearEnv`. */
  readonly env: ReadonlyMap<string, string | null>;
  /** Working directory; null means the server's own. */
  readonly dir: string | null;
  readonly clearEnv: boolean;
  readonly readyOnStart: boolean;
  readonly restart: RestartPolicy;
  readonly protocol: DaemonProtocol;
  readonly stopTimeoutMs: number;
  /** First restart delay; null means the reference's 200 ms after success, 1 s after an error. */
  readonly restartDelayMs: number | null;
  readonly restartMaxDelayMs: number;
  readonly restartResetAfterMs: number;
  readonly readyNotify: ReadyNotify | null;
  readonly finish: Command | null;
  readonly healthCheck: HealthCheckSpec | null;
  readonly logMaxSize: number;
  readonly logFiles: number;
}

/**
 * A daemon spec that cannot be used. `field` names the key at fault (`healthCheck.interval`,
 * `env`, …, or `spec` for the value as a whole). `kind` keeps the reference's distinction:
 * `form` = not a process spec at all (the reference logs "Invalid Process specification" and
 * ignores it), `option` = a bad option value (the reference crashes the daemon actor).
 */
export class DaemonSpecError extends Error {
  readonly field: string;
  readonly kind: 'form' | 'option';
  constructor(field: string, detail: string, kind: 'form' | 'option') {
    super(field === 'spec' ? `daemon spec: ${detail}` : `daemon spec field "${field}": ${detail}`);
    this.name = 'DaemonSpecError';
    this.field = field;
    this.kind = kind;
  }
}

/** Defaults for keys the reference does not have (documented in the folder README). */
export const DAEMON_SPEC_DEFAULTS = {
  stopTimeoutMs: 10_000,
  restartMaxDelayMs: 30_000,
  restartResetAfterMs: 10_000,
  healthCheckIntervalMs: 30_000,
  healthCheckTimeoutMs: 10_000,
  healthCheckFailures: 3,
  logMaxSize: 1_048_576,
  logFiles: 10,
} as const;

const RESTART_POLICIES: readonly RestartPolicy[] = ['always', 'on-error', 'all', 'never'];
const PROTOCOLS: readonly DaemonProtocol[] = ['none', 'application/syndicate', 'text/syndicate'];
/** fd numbers above this would need a huge stdio table; s6 services use small ones anyway. */
const MAX_NOTIFY_FD = 255;

/** Parses the SPEC of `<daemon ID SPEC>`; throws `DaemonSpecError` naming the field at fault. */
export function parseDaemonSpec<T>(spec: Value<T>): DaemonSpec {
  const v = peel(spec);
  if (typeof v === 'string' || Array.isArray(v)) {
    return withDefaults(parseCommand(v, 'argv', 'form'), false);
  }
  if (v instanceof Record && v.hasLabel('one-shot')) {
    if (v.fields.length !== 1) {
      throw new DaemonSpecError('spec', `<one-shot CMD> takes exactly one field, got ${v.fields.length}`, 'form');
    }
    const inner = peel(v.fields[0]);
    if (typeof inner !== 'string' && !Array.isArray(inner)) {
      throw new DaemonSpecError('argv', `<one-shot CMD>: expected a shell string or [program args...], got ${show(inner)}`, 'form');
    }
    return withDefaults(parseCommand(inner, 'argv', 'form'), true);
  }
  if (v instanceof Dictionary) return parseFull(v);
  throw new DaemonSpecError(
    'spec', `expected a shell string, [program args...], <one-shot CMD> or {argv: CMD ...}, got ${show(v)}`, 'form');
}

function withDefaults(command: Command, oneShot: boolean): DaemonSpec {
  return {
    command,
    oneShot,
    env: new Map(),
    dir: null,
    clearEnv: false,
    readyOnStart: !oneShot,
    restart: oneShot ? 'on-error' : 'always',
    protocol: 'none',
    stopTimeoutMs: DAEMON_SPEC_DEFAULTS.stopTimeoutMs,
    restartDelayMs: null,
    restartMaxDelayMs: DAEMON_SPEC_DEFAULTS.restartMaxDelayMs,
    restartResetAfterMs: DAEMON_SPEC_DEFAULTS.restartResetAfterMs,
    readyNotify: null,
    finish: null,
    healthCheck: null,
    logMaxSize: DAEMON_SPEC_DEFAULTS.logMaxSize,
    logFiles: DAEMON_SPEC_DEFAULTS.logFiles,
  };
}

function parseFull<T>(d: Dictionary<T>): DaemonSpec {
  const get = (key: string): Value<T> | undefined => {
    const x = d.get(Symbol.for(key));
    return x === undefined ? undefined : peel(x);
  };
  const argv = get('argv');
  if (argv === undefined) throw new DaemonSpecError('argv', 'required in the dictionary form', 'form');
  const base = withDefaults(parseCommand(argv, 'argv', 'form'), false);
  const readyNotify = opt(get('readyNotify'), (x) => parseReadyNotify(x));
  const restartDelayMs = opt(get('restartDelay'), (x) => seconds(x, 'restartDelay'));
  return {
    ...base,
    env: opt(get('env'), (x) => parseEnv(x)) ?? base.env,
    dir: opt(get('dir'), (x) => nonEmptyString(x, 'dir')) ?? null,
    clearEnv: opt(get('clearEnv'), (x) => bool(x, 'clearEnv')) ?? false,
    // A process that announces its own readiness is not ready merely by being spawned.
    readyOnStart: opt(get('readyOnStart'), (x) => bool(x, 'readyOnStart')) ?? readyNotify === undefined,
    restart: opt(get('restart'), (x) => oneOf(x, 'restart', RESTART_POLICIES)) ?? 'always',
    protocol: opt(get('protocol'), (x) => oneOf(x, 'protocol', PROTOCOLS)) ?? 'none',
    stopTimeoutMs: opt(get('stopTimeout'), (x) => seconds(x, 'stopTimeout')) ?? base.stopTimeoutMs,
    restartDelayMs: restartDelayMs ?? null,
    restartMaxDelayMs: opt(get('restartMaxDelay'), (x) => seconds(x, 'restartMaxDelay')) ?? base.restartMaxDelayMs,
    restartResetAfterMs: opt(get('restartResetAfter'), (x) => seconds(x, 'restartResetAfter')) ?? base.restartResetAfterMs,
    readyNotify: readyNotify ?? null,
    finish: opt(get('finish'), (x) => parseCommand(x, 'finish', 'option')) ?? null,
    healthCheck: opt(get('healthCheck'), (x) => parseHealthCheck(x)) ?? null,
    logMaxSize: opt(get('logMaxSize'), (x) => integer(x, 'logMaxSize', 1)) ?? base.logMaxSize,
    logFiles: opt(get('logFiles'), (x) => integer(x, 'logFiles', 0)) ?? base.logFiles,
  };
}

function opt<T, R>(x: Value<T> | undefined, f: (x: Value<T>) => R): R | undefined {
  return x === undefined ? undefined : f(x);
}

function parseCommand<T>(v: Value<T>, field: string, kind: 'form' | 'option'): Command {
  v = peel(v);
  if (typeof v === 'string') return { kind: 'shell', script: v };
  if (Array.isArray(v)) {
    if (v.length === 0) throw new DaemonSpecError(field, 'expected [program args...], got an empty sequence', kind);
    const argv = v.map((a, i) => {
      const s = peel(a);
      if (typeof s !== 'string') throw new DaemonSpecError(field, `element ${i} must be a string, got ${show(s)}`, kind);
      if (s.includes('\0')) throw new DaemonSpecError(field, `element ${i} contains a NUL character`, kind);
      return s;
    });
    if (argv[0] === '') throw new DaemonSpecError(field, 'the program name is empty', kind);
    return { kind: 'exec', argv: [argv[0], ...argv.slice(1)] };
  }
  throw new DaemonSpecError(field, `expected a shell string or [program args...], got ${show(v)}`, kind);
}

function parseEnv<T>(v: Value<T>): Map<string, string | null> {
  if (!(v instanceof Dictionary)) throw new DaemonSpecError('env', `expected a dictionary, got ${show(v)}`, 'option');
  const env = new Map<string, string | null>();
  for (const [rk, rx] of v) {
    const k = peel(rk);
    const name = typeof k === 'string' ? k : typeof k === 'symbol' ? symbolName(k) : null;
    if (name === null) throw new DaemonSpecError('env', `variable names must be strings or symbols, got ${show(k)}`, 'option');
    if (name === '' || name.includes('=') || name.includes('\0')) {
      throw new DaemonSpecError('env', `invalid variable name ${JSON.stringify(name)}`, 'option');
    }
    const x = peel(rx);
    if (x === false) env.set(name, null);
    else if (typeof x === 'string' && !x.includes('\0')) env.set(name, x);
    else throw new DaemonSpecError('env', `value of ${JSON.stringify(name)} must be a string or #f, got ${show(x)}`, 'option');
  }
  return env;
}

function parseReadyNotify<T>(v: Value<T>): ReadyNotify {
  if (v === Symbol.for('sd-notify')) return { kind: 'sd-notify' };
  if (v instanceof Record && v.hasLabel('fd') && v.fields.length === 1) {
    const n = peel(v.fields[0]);
    if (typeof n === 'number' && Number.isInteger(n) && n >= 3 && n <= MAX_NOTIFY_FD) return { kind: 'fd', fd: n };
    throw new DaemonSpecError('readyNotify', `<fd N> needs an integer N from 3 to ${MAX_NOTIFY_FD}, got ${show(n)}`, 'option');
  }
  throw new DaemonSpecError('readyNotify', `expected <fd N> or sd-notify, got ${show(v)}`, 'option');
}

function parseHealthCheck<T>(v: Value<T>): HealthCheckSpec {
  if (typeof v === 'string' || Array.isArray(v)) {
    return {
      command: parseCommand(v, 'healthCheck', 'option'),
      intervalMs: DAEMON_SPEC_DEFAULTS.healthCheckIntervalMs,
      timeoutMs: DAEMON_SPEC_DEFAULTS.healthCheckTimeoutMs,
      failures: DAEMON_SPEC_DEFAULTS.healthCheckFailures,
    };
  }
  if (!(v instanceof Dictionary)) {
    throw new DaemonSpecError('healthCheck', `expected a command or {command: CMD interval: S failures: N timeout: S}, got ${show(v)}`, 'option');
  }
  const get = (key: string): Value<T> | undefined => {
    const x = v.get(Symbol.for(key));
    return x === undefined ? undefined : peel(x);
  };
  const command = get('command');
  if (command === undefined) throw new DaemonSpecError('healthCheck.command', 'required', 'option');
  return {
    command: parseCommand(command, 'healthCheck.command', 'option'),
    intervalMs: opt(get('interval'), (x) => seconds(x, 'healthCheck.interval', true)) ?? DAEMON_SPEC_DEFAULTS.healthCheckIntervalMs,
    timeoutMs: opt(get('timeout'), (x) => seconds(x, 'healthCheck.timeout', true)) ?? DAEMON_SPEC_DEFAULTS.healthCheckTimeoutMs,
    failures: opt(get('failures'), (x) => integer(x, 'healthCheck.failures', 1)) ?? DAEMON_SPEC_DEFAULTS.healthCheckFailures,
  };
}

function bool<T>(v: Value<T>, field: string): boolean {
  if (typeof v === 'boolean') return v;
  throw new DaemonSpecError(field, `expected #t or #f, got ${show(v)}`, 'option');
}

function nonEmptyString<T>(v: Value<T>, field: string): string {
  if (typeof v === 'string' && v !== '' && !v.includes('\0')) return v;
  throw new DaemonSpecError(field, `expected a non-empty string, got ${show(v)}`, 'option');
}

function oneOf<T, S extends string>(v: Value<T>, field: string, choices: readonly S[]): S {
  const name = typeof v === 'symbol' ? symbolName(v) : null;
  const found = choices.find((c) => c === name);
  if (found !== undefined) return found;
  throw new DaemonSpecError(field, `expected one of ${choices.join(', ')}`, 'option');
}

/** A duration in seconds (integer or double) as whole milliseconds. */
function seconds<T>(v: Value<T>, field: string, positive = false): number {
  const s = typeof v === 'number' ? v
    : typeof v === 'bigint' ? Number(v)
    : v instanceof Double ? v.value
    : NaN;
  if (!Number.isFinite(s) || s < 0 || (positive && s === 0)) {
    throw new DaemonSpecError(field, `expected a ${positive ? 'positive' : 'non-negative'} number of seconds, got ${show(v)}`, 'option');
  }
  return Math.round(s * 1000);
}

function integer<T>(v: Value<T>, field: string, min: number): number {
  if (typeof v === 'number' && Number.isSafeInteger(v) && v >= min) return v;
  throw new DaemonSpecError(field, `expected an integer of at least ${min}, got ${show(v)}`, 'option');
}

function show<T>(v: Value<T>): string {
  try {
    const s = stringify(v);
    return s.length > 60 ? s.slice(0, 57) + '...' : s;
  } catch {
    return String(v);
  }
}

/** The SPEC's problem, or null when `parseDaemonSpec` accepts it (for `--check`, which adds the position). */
export function checkDaemonSpec<T>(spec: Value<T>): DaemonSpecError | null {
  try {
    parseDaemonSpec(spec);
    return null;
  } catch (e) {
    if (e instanceof DaemonSpecError) return e;
    throw e;
  }
}

/**
 * For any asserted value: when it is a `<daemon ID SPEC>` record, the problem with its SPEC
 * (null if none); null for every other value (including `<daemon ID>`, a service name).
 */
export function checkDaemonAssertion<T>(v: Value<T>): DaemonSpecError | null {
  const r = peel(v);
  if (!(r instanceof Record) || !r.hasLabel('daemon') || r.fields.length !== 2) return null;
  return checkDaemonSpec(r.fields[1]);
}
