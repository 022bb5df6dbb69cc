// Whether a system is shutting down, known to every part that could start something or report
// a state: once set, nothing is started or restarted, and only real transitions are reported.
import type { Ref } from '../../bus/index.ts';

const stopping = new WeakSet<Ref>();

/** Marks the system whose config dataspace is `config` as stopping (for good). */
export function markStopping(config: Ref): void {
  stopping.add(config);
}

/** True once `markStopping(config)` was called. */
export function isStopping(config: Ref): boolean {
  return stopping.has(config);
}
