// The public surface of the dataspace engine, shaped after @syndicate-lang/core.
export { Actor, Facet, Turn, type Action, type ExitReason, type SpawnOptions } from './actor.ts';
export { Dataspace, OBSERVE, observe, asObserve } from './dataspace.ts';
export { during, facetPerAssertion, onMessage, observeAssertions, type Captures, type AssertionObserver } from './during.ts';
export { Field, DataflowGraph } from './dataflow.ts';
export { P, compilePattern, match, step, PatternError, type Pattern, type CompiledPattern, type GroupType } from './pattern.ts';
export { Caveat, CaveatError, C, attenuate, applyAttenuation } from './rewrite.ts';
export { type Assertion, type Entity, type Handle, type Ref, isRef } from './ref.ts';
export { Bag, Change } from './bag.ts';
export { Index, rootKeyOfValue } from './skeleton.ts';
export { log, setLogHook, stderrLogHook, describeError, type LogEntry, type LogHook, type LogLevel } from './log.ts';
export { schedule, settle } from './scheduler.ts';
export { showAssertion } from './show-assertion.ts';
