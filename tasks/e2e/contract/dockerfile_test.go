//go:build e2e

package contract_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func readRepoFile(t *testing.T, name string) string {
	t.Helper()
	root, err := testbed.Root()
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func submatch(t *testing.T, text, pattern, what string) string {
	t.Helper()
	m := regexp.MustCompile(pattern).FindStringSubmatch(text)
	if m == nil {
		t.Fatalf("%s: no match for %s", what, pattern)
	}
	return m[1]
}

// No image registry is reachable from the build machines, so the image is
// not built in tests; instead this checks that Dockerfile.airflow agrees
// with the Makefile, go.mod and the repository layout: the builder runs
// `make build`, copies what that build needs, takes the binaries from the
// folder `make build` writes, and the final stage is the pinned Airflow 3
// image with the binaries on PATH and the DAGs in the DAGs folder.
func TestDockerfileAgreesWithMakefile(t *testing.T) {
	df := readRepoFile(t, "Dockerfile.airflow")
	mk := readRepoFile(t, "Makefile")
	gomod := readRepoFile(t, "go.mod")

	// Versions.
	if a, m := submatch(t, df, `(?m)^ARG AIRFLOW_VERSION=(\S+)`, "Dockerfile"), submatch(t, mk, `(?m)^AIRFLOW3_VERSION\s*:=\s*(\S+)`, "Makefile"); a != m || !strings.HasPrefix(a, "3.") {
		t.Fatalf("Dockerfile Airflow %s, Makefile (tested) Airflow %s: must be the same 3.x", a, m)
	}
	if g, m := submatch(t, df, `(?m)^ARG GO_VERSION=(\S+)`, "Dockerfile"), submatch(t, gomod, `(?m)^go (\S+)`, "go.mod"); g != m {
		t.Fatalf("Dockerfile builds with Go %s, go.mod says %s", g, m)
	}

	// Stages.
	stages := regexp.MustCompile(`(?m)^FROM (\S+)(?: AS (\S+))?`).FindAllStringSubmatch(df, -1)
	if len(stages) != 2 || !strings.HasPrefix(stages[0][1], "golang:${GO_VERSION}") || stages[0][2] == "" ||
		stages[1][1] != "apache/airflow:${AIRFLOW_VERSION}" {
		t.Fatalf("want a golang builder stage then apache/airflow:${AIRFLOW_VERSION}, got %v", stages)
	}
	builder := stages[0][2]
	if !regexp.MustCompile(`(?m)^RUN make build\b`).MatchString(df) {
		t.Fatal("the builder stage must run `make build` (the same build as CI)")
	}
	outDir := submatch(t, mk, `(?m)^build:\n(?:\t.*\n)*?\t.*\(GO\) build .*-o (\S+)`, "Makefile build target")
	workdir := submatch(t, df, `(?m)^WORKDIR (\S+)`, "Dockerfile")
	wantCopy := "COPY --from=" + builder + " " + filepath.Join(workdir, outDir) + "/ /usr/local/bin/"
	if !strings.Contains(df, wantCopy) {
		t.Fatalf("Dockerfile must copy the binaries `make build` writes: want %q", wantCopy)
	}
	if !regexp.MustCompile(`(?m)^COPY (--chown=\S+ )?dags/ /opt/airflow/dags/`).MatchString(df) {
		t.Fatal("Dockerfile must copy dags/ to /opt/airflow/dags/")
	}
	users := regexp.MustCompile(`(?m)^USER (\S+)`).FindAllStringSubmatch(df, -1)
	if len(users) == 0 || users[len(users)-1][1] != "airflow" {
		t.Fatalf("the image must end as the airflow user, got %v", users)
	}

	// Everything the build needs is copied into the builder: the module's
	// packages that the tasks import live under the copied folders.
	copied := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^COPY (\S+/) `).FindAllStringSubmatch(df, -1) {
		copied[strings.TrimSuffix(m[1], "/")] = true
	}
	for _, f := range []string{"go.mod go.sum ./", "Makefile ./"} {
		if !strings.Contains(df, "COPY "+f) {
			t.Fatalf("Dockerfile does not copy %s", f)
		}
	}
	root, _ := testbed.Root()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{if not .Standard}}{{.Dir}}{{end}}", "./tasks/...")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, dir := range strings.Fields(string(out)) {
		rel, err := filepath.Rel(root, dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			continue // a dependency module
		}
		top := strings.Split(rel, string(filepath.Separator))[0]
		if !copied[top] {
			t.Errorf("the build needs %s, which Dockerfile.airflow does not copy", rel)
		}
	}

	// Every task binary is built by `make build` (./tasks/...).
	if !strings.Contains(mk, "./tasks/...") {
		t.Fatal("make build must build ./tasks/...")
	}
}

// The README names the Airflow versions the tests run (the Makefile's
// pins): the image's, the oldest Airflow 3 and the Airflow 2 checked.
func TestREADMENamesTestedAirflowVersions(t *testing.T) {
	mk := readRepoFile(t, "Makefile")
	readme := readRepoFile(t, "README.md")
	for _, v := range []string{"AIRFLOW3_VERSION", "AIRFLOW3_OLDEST_VERSION", "AIRFLOW2_VERSION"} {
		version := submatch(t, mk, `(?m)^`+v+`\s*:=\s*(\S+)`, "Makefile")
		if !strings.Contains(readme, version) {
			t.Errorf("README does not name Airflow %s (%s in the Makefile)", version, v)
		}
	}
	if !strings.Contains(readme, "apache/airflow:"+submatch(t, mk, `(?m)^AIRFLOW3_VERSION\s*:=\s*(\S+)`, "Makefile")) {
		t.Error("README does not name the image's Airflow version")
	}
}
