// The public surface of our Preserves library, shaped after @preserves/core.
export { type Value, Kind, kindOf, sym, symbolName, double, normInt } from './value.ts';
export { Double } from './double.ts';
export { Bytes } from './bytes.ts';
export { Record, record } from './record.ts';
export { KeyedSet } from './keyed-set.ts';
export { Dictionary } from './dictionary.ts';
export { Embedded, identityOf } from './embedded.ts';
export { Annotated, annotate, peel, strip, positionOf, annotationsOf } from './annotated.ts';
export { compare, compareStrings, compareBytes, is, sortedMembers, sortedEntries } from './compare.ts';
export { valueKey, hash } from './key.ts';
export { DecodeError, ShortInput, EndOfInput, EncodeError, type Position, formatPosition } from './errors.ts';
export { BinaryWriter, encode, canonicalEncode, bigintToBytes, Tag, type BinaryWriterOptions } from './binary-writer.ts';
export { BinaryReader, decode, decodeAll, bigintFromBytes, DEFAULT_MAX_DEPTH, type ReaderOptions } from './binary-reader.ts';
export { TextReader, parse, parseAll, isSymbolChar, classifyBareWord, MAX_TEXT_INTEGER_DIGITS, type TextReaderOptions } from './text-reader.ts';
export { TextWriter, stringify, formatDouble, isBareSymbol, type TextWriterOptions } from './text-writer.ts';
export { decodeBase64, encodeBase64 } from './base64.ts';
export { holdsEmbedded } from './holds-embedded.ts';
