package bind

// Connectors whose config is validated today but that this build cannot
// run yet register here, with Decode returning a RawConfig and Unavailable
// saying why. Each moves to its own file when it is implemented.

// RawConfig is the config of a component that is validated but not yet
// runnable: only the keys it sets are kept (for explain).
type RawConfig struct {
	Keys []string
}
