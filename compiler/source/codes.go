package source

// Code is a stable identifier of a kind of diagnostic. Codes never change
// meaning once released; SPEC.md lists them all.
type Code string

// The diagnostic codes.
const (
	CodeYAMLSyntax       Code = "yaml-syntax"       // the file is not valid YAML
	CodeDuplicateKey     Code = "duplicate-key"     // a mapping repeats a key
	CodeUnsetVariable    Code = "unset-variable"    // ${VAR} without default names an unset variable
	CodeBadVariable      Code = "bad-variable"      // a malformed ${...} reference
	CodeUnknownKey       Code = "unknown-key"       // a key the schema does not allow
	CodeMissingKey       Code = "missing-key"       // a required key is absent
	CodeTypeMismatch     Code = "type-mismatch"     // a value of the wrong type
	CodeInvalidValue     Code = "invalid-value"     // a value outside an enum or pattern
	CodeOutOfRange       Code = "out-of-range"      // a number outside its bounds
	CodeUnknownConnector Code = "unknown-connector" // no connector or transform of that name
	CodeUnknownRef       Code = "unknown-reference" // a pipeline names a missing source/sink/transform
	CodeConditionSyntax  Code = "condition-syntax"  // an expression does not parse
	CodeConditionType    Code = "condition-type"    // an expression is ill-typed or not boolean
	CodeUnknownField     Code = "unknown-field"     // a field name the stream's schema lacks
	CodeBadMaskPath      Code = "bad-mask-path"     // a field-mask path that cannot be masked
	CodeNoPipelines      Code = "no-pipelines"      // nothing to run
	CodeUnreadable       Code = "unreadable-config" // the config file cannot be read
	CodeNotAvailable     Code = "not-available"     // a feature this version does not have yet
	CodeBadPlugin        Code = "bad-plugin"        // a WASM plugin's module cannot be loaded or breaks the ABI
)

// AllCodes lists every code, for documentation and tests.
var AllCodes = []Code{
	CodeYAMLSyntax, CodeDuplicateKey, CodeUnsetVariable, CodeBadVariable,
	CodeUnknownKey, CodeMissingKey, CodeTypeMismatch, CodeInvalidValue,
	CodeOutOfRange, CodeUnknownConnector, CodeUnknownRef, CodeConditionSyntax,
	CodeConditionType, CodeUnknownField, CodeBadMaskPath, CodeNoPipelines,
	CodeUnreadable, CodeNotAvailable, CodeBadPlugin,
}
