// The supervisor (spec §4.4): runs a service in its own actor, publishes its service-state,
// restarts it by policy with the reference's 200 ms / 10 s delays, and handles
// `<restart-service NAME>`.
import { Record, sym } from '../../preserves/index.ts';
import { P, describeError, showAssertion, type Actor, type Assertion, type ExitReason, type Facet, type Ref, type Turn } from '../../bus/index.ts';
import { Service, ServicePattern, type ServiceState } from './service-protocol.ts';
import { isStopping } from './system-stopping.ts';

/** What to do when the supervised actor ends. */
export type RestartPolicy = 'always' | 'on-error';

/** How a supervisor runs one service. */
export interface SupervisorOptions {
  /** The service's name: the record in `<service-state NAME ...>`. */
  readonly name: Assertion;
  /** Where states are published and restart requests heard (the config dataspace). */
  readonly config: Ref;
  readonly policy: RestartPolicy;
  /** A label for the supervised actor in logs (the service's name is appended). */
  readonly actorName: string;
  /**
   * Who publishes `started`: the supervisor when the actor boots (the default), or the service
   * itself once it really runs (daemons: after a successful spawn). See `serviceReportsStart`.
   */
  readonly startedBy?: 'supervisor' | 'service';
}

const selfStarting = new WeakMap<Ref, Set<string>>();

/**
 * Declares that services whose actors are named `actorName` (a service kind) in the system of
 * `config` publish their own `started`: their supervisor then publishes only `failed` and
 * `complete`. Called by the kind when it is made, so `serviceListener` needs no option for it.
 */
export function serviceReportsStart(config: Ref, actorName: string): void {
  let s = selfStarting.get(config);
  if (s === undefined) selfStarting.set(config, (s = new Set()));
  s.add(actorName);
}

const $error = sym('service-error');

/** Restarts within this window count towards the long delay (spec §4.4). */
const WINDOW_MS = 5000;
const SHORT_DELAY_MS = 200;
const LONG_DELAY_MS = 10_000;

/**
 * Supervises `boot` in the active facet: the service runs while the facet lives. A crash gives
 * `failed` and a restart; a clean end gives `complete`, and a restart under policy `always`.
 * `<restart-service NAME>` stops the service and starts it again at once (the reference routes
 * this through a clean exit and a 200 ms delay).
 */
export function supervise(t: Turn, options: SupervisorOptions, boot: (t: Turn) => void): void {
  const { name, config } = options;
  const selfStarted = (options.startedBy ?? (selfStarting.get(config)?.has(options.actorName) ? 'service' : 'supervisor')) === 'service';
  const state = t.field<ServiceState>('started', 'service-state');
  t.assertDataflow(config, () => (selfStarted && state.value === 'started' ? undefined : Service.state(name, state.value)));
  // Why the service last crashed, while it is failed: what `syndicate-ctl why` shows.
  const lastError = t.field<string | null>(null, 'last-error');
  t.assertDataflow(config, () => (state.value === 'failed' && lastError.value !== null ? new Record<Ref>($error, [name, lastError.value]) : undefined));
  const restarts: number[] = [];
  let child: Actor | null = null;
  let restartRequested = false;
  /** The facet holding the restart delay timer, while one is pending. */
  let waiting: Facet | null = null;

  // Error lines of the engine (`actor crashed: …`) then name the service.
  const actorName = `${options.actorName} ${showAssertion(name)}`;
  const start = (t: Turn): void => {
    if (isStopping(config)) return; // a stopping bus starts nothing
    state.value = 'started';
    child = t.spawn(actorName, boot, { onExit: exited });
  };
  const exited = (t: Turn, reason: ExitReason): void => {
    child = null;
    // Stopped by a shutdown: not a completion or a failure, and nothing is restarted.
    if (isStopping(config)) return;
    if (restartRequested) {
      restartRequested = false;
      restarts.length = 0;
      start(t);
      return;
    }
    state.value = reason.ok ? 'complete' : 'failed';
    lastError.value = reason.ok ? null : describeError(reason.error);
    if (reason.ok && options.policy === 'on-error') return;
    const now = Date.now();
    while (restarts.length > 0 && now - restarts[0] > WINDOW_MS) restarts.shift();
    const delay = restarts.length > 1 ? LONG_DELAY_MS : SHORT_DELAY_MS;
    restarts.push(now);
    const w = (waiting = t.facet((t) => t.after(delay, (t) => restartNow(t, w))));
  };
  /** Ends the wait and starts in the supervisor's own facet (the parent of the wait). */
  const restartNow = (t: Turn, w: Facet): void => {
    waiting = null;
    t.stop(w, start);
  };
  t.onMessage(config, ServicePattern.restart(P.lit(name)), (t) => {
    if (isStopping(config)) return;
    restarts.length = 0;
    if (waiting !== null) {
      restartNow(t, waiting);
      return;
    }
    if (child === null || !child.alive) {
      start(t);
      return;
    }
    restartRequested = true;
    t.stopActor(child);
  });
  start(t);
}

/** The symbol of a state, for comparisons in callers. */
export const STATE = { ready: sym('ready'), started: sym('started'), complete: sym('complete'), failed: sym('failed') };
