package schemas

// ProtobufDecodeDynamic exposes the dynamicpb decoder, the oracle the
// direct one is fuzzed against.
var ProtobufDecodeDynamic = (*ProtobufCodec).decodeDynamic
