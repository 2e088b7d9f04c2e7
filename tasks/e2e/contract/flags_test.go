//go:build e2e

package contract_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// Every flag of every task (and of each command of a task with commands,
// like catalog) has an environment variable in the project's SRB_
// namespace: the runtime refuses to start a task otherwise (it panics), and
// each flag line of --help names its variable. The task list comes from the
// tasks/ folder, so a new task is covered without editing this test.
func TestEveryFlagHasAnEnvVar(t *testing.T) {
	names, err := testbed.TaskNames()
	if err != nil || len(names) < 2 {
		t.Fatalf("found only %v under tasks/ (%v)", names, err)
	}
	flagLine := regexp.MustCompile(`^\s+(--[a-z0-9-]+)`)
	envVar := regexp.MustCompile(`\$([A-Za-z0-9_]+)`)
	commandLine := regexp.MustCompile(`^\s+([a-z][a-z-]*)\s{2,}`)
	help := func(args ...string) string {
		out, err := exec.Command(filepath.Join(testbed.BinDir(), args[0]), append(args[1:], "--help")...).CombinedOutput()
		if err != nil {
			t.Fatalf("%v --help: %v\n%s", args, err, out)
		}
		return string(out)
	}
	check := func(what, out string) {
		n := 0
		for _, l := range strings.Split(out, "\n") {
			m := flagLine.FindStringSubmatch(l)
			if m == nil || m[1] == "--help" || m[1] == "--version" {
				continue
			}
			n++
			if !strings.Contains(l, "[$") {
				t.Errorf("%s: flag %s has no environment variable: %q", what, m[1], strings.TrimSpace(l))
			}
			for _, v := range envVar.FindAllStringSubmatch(l, -1) {
				if !strings.HasPrefix(v[1], "SRB_") {
					t.Errorf("%s: flag %s reads %s, outside the SRB_ namespace", what, m[1], v[1])
				}
			}
		}
		if n < 4 {
			t.Errorf("%s: --help lists only %d flags; the parser lost them?\n%s", what, n, out)
		}
	}
	for _, name := range names {
		out := help(name)
		commands, inCommands := []string{}, false
		for _, l := range strings.Split(out, "\n") {
			switch {
			case strings.HasPrefix(l, "COMMANDS:"):
				inCommands = true
			case inCommands && commandLine.MatchString(l):
				commands = append(commands, commandLine.FindStringSubmatch(l)[1])
			case inCommands && strings.TrimSpace(l) == "":
				inCommands = false
			}
		}
		if len(commands) == 0 {
			check(name, out)
			continue
		}
		for _, c := range commands {
			check(name+" "+c, help(name, c))
		}
	}
}
