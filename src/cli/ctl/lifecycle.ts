// `syndicate-ctl start|stop|restart SERVICE [--wait]` in one client facet: one observer reads
// the service records, checks the service is known once a sync has delivered what is present,
// then sends the requests (both kept requests of a start or stop in the same turn, so the bus
// applies them together and persists them side by side) and follows the same observer until the
// acknowledgements are in and, with --wait, the service got where the command says. One round
// trip before the requests instead of a snapshot, two acknowledged requests in a row, a fresh
// observer and a final snapshot.
import { P, type Assertion, type Ref, type Turn } from '../../bus/index.ts';
import { Service } from '../../services/supervision/service-protocol.ts';
import { persist, unpersist } from '../../services/control-store.ts';
import { CtlFailure, CtlTimeoutError, type BusConnection } from './connection.ts';
import { DAEMON_CONFIG, knownService, servicePatterns } from './known-service.ts';
import { askStore } from './store-request.ts';
import { buildServiceModel, displayState, show, type ServiceView } from './service-model.ts';

/** What the command does. */
export type LifecycleCommand = 'start' | 'stop' | 'restart';

/**
 * Runs `cmd` on `name`; resolves 0 once the bus has kept the request (start, stop: durable) or
 * received it (restart) and, with `wait`, the service is ready/complete (a restart: newer than
 * the request) or stopped. Rejects with `CtlFailure` (unknown, not running, failed, not kept)
 * or `CtlTimeoutError` after `timeoutMs`.
 */
export function lifecycle(conn: BusConnection, cmd: LifecycleCommand, name: Assertion, wait: boolean, timeoutMs: number): Promise<number> {
  const text = show(name);
  return new Promise((resolve, reject) => conn.turn((t, config) => {
    t.facet((t) => {
      t.preventInertCheck();
      const facet = t.activeFacet;
      const seen = new Map<number, Assertion>();
      let phase: 'reading' | 'requested' | 'done' = 'reading';
      let pending = 0; // acknowledgements (or, for restart, the delivery sync) still awaited
      let oldSince = new Set<string>();
      let requestedAt = 0;

      const finish = (t: Turn, error?: Error): void => {
        if (phase === 'done') return;
        phase = 'done';
        t.stop(facet);
        if (error === undefined) resolve(0);
        else reject(error);
      };
      // A state counts for a restart only if it appeared after the request (its since-time is new).
      const fresh = (s: ServiceView, state: string): boolean => {
        if (!s.states.includes(state)) return false;
        if (cmd !== 'restart') return true;
        const since = s.since.get(state);
        return since !== undefined && !oldSince.has(since) && Date.parse(since) >= requestedAt - 1;
      };
      const reached = (s: ServiceView | undefined): boolean => {
        if (cmd === 'stop') return s === undefined || (!s.running && !s.states.some((x) => x === 'started' || x === 'ready'));
        if (s === undefined) return false;
        return fresh(s, 'failed') || ((fresh(s, 'ready') || fresh(s, 'complete')) && !s.states.includes('failed'));
      };
      // Judged only once every acknowledgement is in: by then the bus's reaction to the request
      // has arrived ahead of the acknowledgement, as a fresh snapshot would have shown it.
      const check = (t: Turn): void => {
        if (phase !== 'requested' || pending > 0) return;
        if (!wait) return finish(t);
        const s = buildServiceModel(seen.values()).get(text);
        if (!reached(s)) return;
        if (cmd !== 'stop' && s?.states.includes('failed')) {
          const why = s.error ?? s.status?.lastExit;
          return finish(t, new CtlFailure(`${text}: failed${why ? ': ' + why : ''}`));
        }
        finish(t);
      };
      /** Asserts a request for the control store until it answers (it is durable once it does). */
      const keep = (t: Turn, build: (reply: Ref) => Assertion): void => {
        pending++;
        askStore(t, config, build, (t, r) => {
          if (!r.ok) return finish(t, new CtlFailure(r.error));
          pending--;
          check(t);
        });
      };

      for (const p of [...servicePatterns(), DAEMON_CONFIG]) {
        t.observe(config, P.bind(p), {
          added: (t, [v], h) => { seen.set(h, v); check(t); },
          removed: (t, _c, h) => { seen.delete(h); check(t); },
        });
      }
      t.sync(config, (t) => {
        let before: ServiceView | undefined;
        try {
          before = knownService([...seen.values()], name).get(text);
        } catch (e) {
          return finish(t, e as Error);
        }
        if (cmd === 'restart' && !before?.running) {
          return finish(t, new CtlFailure(`${text}: not running (${before ? displayState(before) : 'idle'}), so not restarted; \`syndicate-ctl start\` starts it`));
        }
        oldSince = new Set(before === undefined ? [] : [...before.since.values()]);
        requestedAt = Date.now();
        phase = 'requested';
        if (cmd === 'start') {
          keep(t, (r) => unpersist(Service.hold(name), r));
          keep(t, (r) => persist(Service.require(name), r));
        } else if (cmd === 'stop') {
          keep(t, (r) => unpersist(Service.require(name), r));
          keep(t, (r) => persist(Service.hold(name), r));
        } else {
          t.message(config, Service.restart(name));
          pending++;
          t.sync(config, (t) => { pending--; check(t); });
        }
      });
      t.after(timeoutMs, (t) => {
        if (phase === 'done') return;
        const secs = `${timeoutMs / 1000} s`;
        finish(t, new CtlTimeoutError(phase === 'reading' ? `timed out after ${secs} waiting for the bus to answer`
          : pending === 0 ? `${text}: timed out after ${secs} waiting for ${cmd} to finish`
            : `timed out after ${secs} waiting for the bus to keep the request`));
      });
    });
  }));
}
