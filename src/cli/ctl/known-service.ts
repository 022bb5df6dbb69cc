// Which services syndicate-ctl may act on: the service records it reads, and the check that the
// bus knows a named service (so that nothing is kept for a name the bus would never run).
import { P, type Assertion, type Pattern } from '../../bus/index.ts';
import { Record, peel } from '../../preserves/index.ts';
import { CtlFailure } from './connection.ts';
import { buildServiceModel, emptyView, show, type ServiceView } from './service-model.ts';

const SERVICE_LABELS = ['service-error', 'require-service', 'run-service', 'service-hold', 'service-state', 'service-state-since', 'daemon-status', 'depends-on'];

/** Patterns of every record the service views are built from. */
export const servicePatterns = (): Pattern[] => SERVICE_LABELS.map((l) => P.rec(l));

/** `<daemon ID SPEC>` configurations (two fields; the service name `<daemon ID>` has one). */
export const DAEMON_CONFIG = P.rec('daemon', P.discard(), P.discard());

/** The ID of a `<daemon ID>` name, or undefined for other services. */
function daemonId(name: Assertion): Assertion | undefined {
  const r = peel(name);
  return r instanceof Record && r.hasLabel('daemon') && r.fields.length === 1 ? (r.fields[0] as Assertion) : undefined;
}

/**
 * The service model of `present` (matches of `servicePatterns()` and `DAEMON_CONFIG`), with
 * `name` in it; throws `CtlFailure` unless the bus knows `name`: a daemon needs a
 * `<daemon ID SPEC>` in its configuration (a daemon service without one would report ready with
 * nothing running); any other service must be required, run, depended on or report a state.
 */
export function knownService(present: readonly Assertion[], name: Assertion): Map<string, ServiceView> {
  const model = buildServiceModel(present);
  const id = daemonId(name);
  const text = show(name);
  if (id !== undefined) {
    const idText = show(id);
    const configured = present.some((a) => {
      const r = peel(a);
      return r instanceof Record && r.hasLabel('daemon') && r.fields.length === 2 && show(r.fields[0] as Assertion) === idText;
    });
    if (!configured) throw new CtlFailure(`${text}: no such service (no <daemon ${idText} …> in the bus's configuration)`);
    // Configured but never required: known, and idle.
    if (!model.has(text)) model.set(text, emptyView(name));
  } else if (!model.has(text)) {
    throw new CtlFailure(`${text}: no such service (nothing requires it, runs it or reports its state)`);
  }
  return model;
}
