package app

import "github.com/rivven/rivven-connect/runtime"

// Spec is what a generated pipeline binary carries: the plan baked in at
// compile time and the function that instantiates it. Generated code
// declares one Spec and passes it to Main.
type Spec struct {
	// Config is the config file the binary was compiled from.
	Config string
	// Compiler is the rivven-connect version that generated the binary.
	Compiler string
	// Plan is the plan dump (`rivven-connect explain` of the config).
	Plan string
	// Vars lists the environment variables the binary reads at start-up.
	Vars []string
	// Build instantiates the enabled pipelines. lookup reads environment
	// variables (os.LookupEnv in production); a missing variable is an
	// *EnvError.
	Build func(env runtime.Env, lookup func(string) (string, bool)) ([]*runtime.Pipeline, error)
	// Open, when set, opens what the whole process shares before Build —
	// the schema registry, stored in env.Formats — and returns the
	// function that closes it once the pipelines have ended. Values from
	// environment variables are read through lookup as in Build.
	Open func(env *runtime.Env, lookup func(string) (string, bool)) (close func() error, err error)
}
