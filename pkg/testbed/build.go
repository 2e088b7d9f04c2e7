package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

// BuildTasks builds the named task binaries (tasks/<name>; all of them when
// none is named) into dir, as `make build` does, and returns their names.
func BuildTasks(dir string, names ...string) ([]string, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	if len(names) == 0 {
		if names, err = TaskNames(); err != nil {
			return nil, err
		}
	}
	args := []string{"build", "-trimpath", "-o", dir + string(os.PathSeparator)}
	for _, n := range names {
		args = append(args, "./tasks/"+n)
	}
	cmd := exec.Command("go", args...)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go %v: %v\n%s", args, err, out)
	}
	return names, nil
}

// TaskNames lists the task binaries: the folders under tasks/ holding a main.go.
func TaskNames() ([]string, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	mains, err := filepath.Glob(filepath.Join(root, "tasks", "*", "main.go"))
	if err != nil {
		return nil, err
	}
	var names []string
	for _, m := range mains {
		names = append(names, filepath.Base(filepath.Dir(m)))
	}
	sort.Strings(names)
	return names, nil
}
