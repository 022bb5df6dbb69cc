// The engine-independent surface of the relay: packets, wire refs, framing, sturdy refs and
// the gatekeeper's records.
export {
  type Oid, type AssertEvent, type RetractEvent, type MessageEvent, type SyncEvent, type PacketEvent, type TurnEntry,
  type TurnPacket, type ErrorPacket, type ExtensionPacket, type NopPacket, type Packet,
  PacketError, assertEvent, retractEvent, messageEvent, syncEvent, turnPacket, errorPacket, extensionPacket, NOP,
  parsePacket, packetToValue,
} from './packet.ts';
export { type WireRef, type MineWireRef, type YoursWireRef, WireRefError, mine, yours, parseWireRef, wireRefToValue } from './wire-ref.ts';
export {
  type Syntax, type PacketReaderOptions, type PacketWriterOptions, type FramingFailure, type ReadResult,
  DEFAULT_MAX_PACKET_SIZE, DEFAULT_MAX_DEPTH, FramingError, PacketReader, PacketWriter,
} from './framing.ts';
export {
  type SturdyRef, type SturdyDescription, SIGNATURE_LENGTH, STURDY_STEP_TYPE, SturdyRefError,
  sturdyMac, chainSignature, sturdySignature, mintSturdyRef, attenuateSturdyRef, validateSturdyRef, sturdyCaveats,
  sturdyRefToValue, parseSturdyRefDetail, parseSturdyRef, sturdyDescriptionToValue, parseSturdyDescriptionDetail,
  parseSturdyDescription, sturdyRefFor,
} from './sturdy.ts';
export {
  type Step, type Resolve, type Bind, type RpcResult, type Bound, GatekeeperErrors, GatekeeperProtocolError,
  step, stepToValue, parseStep, resolve, resolveToValue, parseResolve, bind, bindToValue, parseBind,
  ok, rpcError, resultToValue, parseResult, bound, boundToValue, parseBound,
} from './gatekeeper-protocol.ts';
// The relay engine, the client library and the gatekeeper (these run turns of src/bus).
export { type RelayOptions, type RelayHandle, type RelayStats, RelayError, attachRelay } from './relay.ts';
export { type RelayLimits, DEFAULT_RELAY_LIMITS, UNLIMITED_RELAY_LIMITS, RelayBudget, parseSize } from './limits.ts';
export {
  type ClientOptions, type Client, connectStreams, connectStdio, serveStdio, connectUnix, connectTcp, resolveStep,
} from './client.ts';
export { createGatekeeper, gatekeeperServiceName } from './gatekeeper.ts';
