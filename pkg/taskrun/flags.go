package taskrun

import (
	"fmt"
	"reflect"
	"strings"

	"github.com/urfave/cli/v2"
)

// EnvPrefix starts every environment variable of the project, so that a
// stray REMOVE=1 or FILE=... in a worker's environment never reaches a
// task: --remove reads SRB_REMOVE, never REMOVE. The AWS SDK's own
// variables (AWS_ACCESS_KEY_ID, AWS_PROFILE, ...) and SSH_AUTH_SOCK keep
// their standard names and reach the tasks through the standard chains.
const EnvPrefix = "SRB_"

// EnvName is the one rule that names a variable: "part-size" →
// "SRB_PART_SIZE". A flag that belongs to a group names its variable with
// EnvPrefixed.
func EnvName(flag string) string {
	return EnvPrefix + strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// EnvPrefixed names the variable of a flag (or a secret) of a group:
// EnvPrefixed("SSH", "key-file") → "SRB_SSH_KEY_FILE".
func EnvPrefixed(group, flag string) string {
	if group == "" {
		return EnvName(flag)
	}
	return EnvName(group + "-" + flag)
}

// withEnv gives every flag that has no environment variable the one named
// by EnvName. Every urfave/cli flag type keeps its variables in a field
// EnvVars; a flag type without one is a programming error (it panics),
// caught by the tests that run every task's --help.
func withEnv(flags []cli.Flag) []cli.Flag {
	for _, f := range flags {
		name := f.Names()[0]
		v := reflect.ValueOf(f)
		if v.Kind() == reflect.Pointer {
			v = v.Elem()
		}
		var field reflect.Value
		if v.Kind() == reflect.Struct {
			field = v.FieldByName("EnvVars")
		}
		if !field.IsValid() || field.Type() != reflect.TypeOf([]string(nil)) || !field.CanSet() {
			panic(fmt.Sprintf("taskrun: flag --%s has type %T, which has no EnvVars field", name, f))
		}
		if field.Len() == 0 {
			field.Set(reflect.ValueOf([]string{EnvName(name)}))
		}
	}
	return flags
}

// FlagEnvVars returns the environment variables of a flag (nil when it has none).
func FlagEnvVars(f cli.Flag) []string {
	if d, ok := f.(cli.DocGenerationFlag); ok {
		return d.GetEnvVars()
	}
	return nil
}

// CheckFlags returns an error naming every flag without an environment
// variable, every variable outside the project's prefix, and every
// variable used by two flags.
func CheckFlags(flags []cli.Flag) error {
	var missing []string
	seen := map[string]string{}
	for _, f := range flags {
		name := f.Names()[0]
		envs := FlagEnvVars(f)
		if len(envs) == 0 {
			missing = append(missing, "--"+name)
		}
		for _, e := range envs {
			if !strings.HasPrefix(e, EnvPrefix) {
				return fmt.Errorf("flag --%s reads %s, which lacks the %s prefix", name, e, EnvPrefix)
			}
			if other, dup := seen[e]; dup {
				return fmt.Errorf("flags --%s and --%s share the environment variable %s", other, name, e)
			}
			seen[e] = name
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("flags without an environment variable: %s", strings.Join(missing, ", "))
	}
	return nil
}
