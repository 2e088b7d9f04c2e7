package testbed

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
)

// BuildTasks builds every task binary (tasks/<name>) into dir, as
// `make build` does, and returns their names.
func BuildTasks(dir string) ([]string, error) {
	root, err := Root()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command("go", "build", "-trimpath", "-o", dir+string(os.PathSeparator), "./tasks/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./tasks/...: %v\n%s", err, out)
	}
	return TaskNames()
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
