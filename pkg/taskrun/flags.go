package taskrun

import (
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"
)

// EnvName is the one rule that names a flag's environment variable:
// "part-size" → "PART_SIZE". A flag that needs another name (the SSH flags
// share an SSH_ prefix, for instance) sets EnvVars itself, usually through
// EnvPrefixed.
func EnvName(flag string) string {
	return strings.ToUpper(strings.ReplaceAll(flag, "-", "_"))
}

// EnvPrefixed names the variable of a flag that belongs to a group:
// EnvPrefixed("SSH", "key-file") → "SSH_KEY_FILE".
func EnvPrefixed(prefix, flag string) string {
	if prefix == "" {
		return EnvName(flag)
	}
	return EnvName(prefix + "-" + flag)
}

// withEnv gives every flag that has no environment variable the one named
// by EnvName. It panics on a flag type it does not know: that is a
// programming error, caught by the tests that run every task's --help.
func withEnv(flags []cli.Flag) []cli.Flag {
	for _, f := range flags {
		name := f.Names()[0]
		env := []string{EnvName(name)}
		switch f := f.(type) {
		case *cli.StringFlag:
			if len(f.EnvVars) == 0 {
				f.EnvVars = env
			}
		case *cli.BoolFlag:
			if len(f.EnvVars) == 0 {
				f.EnvVars = env
			}
		case *cli.IntFlag:
			if len(f.EnvVars) == 0 {
				f.EnvVars = env
			}
		case *cli.Int64Flag:
			if len(f.EnvVars) == 0 {
				f.EnvVars = env
			}
		case *cli.UintFlag:
			if len(f.EnvVars) == 0 {
				f.EnvVars = env
			}
		case *cli.DurationFlag:
			if len(f.EnvVars) == 0 {
				f.EnvVars = env
			}
		case *cli.StringSliceFlag:
			if len(f.EnvVars) == 0 {
				f.EnvVars = env
			}
		case *cli.GenericFlag:
			if len(f.EnvVars) == 0 {
				f.EnvVars = env
			}
		case *cli.PathFlag:
			if len(f.EnvVars) == 0 {
				f.EnvVars = env
			}
		default:
			panic(fmt.Sprintf("taskrun: flag --%s has type %T, which withEnv does not know", name, f))
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
// variable, and every variable used by two flags.
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
