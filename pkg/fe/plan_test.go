package fe

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

func mkfile(t *testing.T, p, body string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
}

func read(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// runPlan runs the plan's script with sh, with PATH starting at pathDir
// when not empty.
func runPlan(t *testing.T, p swapPlan, pathDir string) (string, error) {
	t.Helper()
	cmd := exec.Command("sh", "-s")
	cmd.Stdin = strings.NewReader("{\n" + p.script().String() + "\n} </dev/null\n")
	if pathDir != "" {
		cmd.Env = append(os.Environ(), "PATH="+pathDir+":"+os.Getenv("PATH"))
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// newFolders makes an FE folder whose path needs quoting (and would run a
// command if it were not quoted) with meta/ and conf/, and a staging
// folder with new copies of meta/, conf/ and small_files/.
func newFolders(t *testing.T) (dir, staging, canary string) {
	base := t.TempDir()
	canary = filepath.Join(base, "pwned")
	dir = filepath.Join(base, "fe dir; touch "+canary+" $(touch "+canary+") 'q'")
	staging = filepath.Join(base, ".fe.staging", "root")
	mkfile(t, filepath.Join(dir, "meta", "bdb", "00000000.jdb"), "old jdb")
	mkfile(t, filepath.Join(dir, "conf", "fe.conf"), "old conf")
	mkfile(t, filepath.Join(dir, "log", "fe.log"), "log stays")
	mkfile(t, filepath.Join(staging, "meta", "bdb", "00000000.jdb"), "new jdb")
	mkfile(t, filepath.Join(staging, "conf", "fe.conf"), "new conf")
	mkfile(t, filepath.Join(staging, "small_files", "x"), "new small")
	return dir, staging, canary
}

// plan builds the swap plan of the named entries from staging into dir.
func plan(dir, staging string, names ...string) swapPlan {
	var entries []Replaced
	for _, n := range names {
		entries = append(entries, Replaced{Name: n, Path: filepath.Join(dir, n), staged: filepath.Join(staging, n)})
	}
	return newSwapPlan("20261124T000000Z", entries, lexists(os.Lstat))
}

func TestPlanSwapsAndKeepsPreviousCopies(t *testing.T) {
	dir, staging, canary := newFolders(t)
	p := plan(dir, staging, "small_files", "meta", "conf")
	if out, err := runPlan(t, p, ""); err != nil || !strings.Contains(out, "swapped") {
		t.Fatalf("plan failed: %v\n%s", err, out)
	}
	if got := read(t, filepath.Join(dir, "meta", "bdb", "00000000.jdb")); got != "new jdb" {
		t.Fatalf("meta not replaced: %q", got)
	}
	if got := read(t, filepath.Join(dir, "meta.before-restore-20261124T000000Z", "bdb", "00000000.jdb")); got != "old jdb" {
		t.Fatalf("previous meta not kept: %q", got)
	}
	if read(t, filepath.Join(dir, "conf", "fe.conf")) != "new conf" || read(t, filepath.Join(dir, "small_files", "x")) != "new small" ||
		read(t, filepath.Join(dir, "log", "fe.log")) != "log stays" {
		t.Fatal("conf, small_files or log wrong after the swap")
	}
	want := []Replaced{
		{Name: "conf", Path: filepath.Join(dir, "conf"), Previous: filepath.Join(dir, "conf.before-restore-20261124T000000Z")},
		{Name: "meta", Path: filepath.Join(dir, "meta"), Previous: filepath.Join(dir, "meta.before-restore-20261124T000000Z")},
		{Name: "small_files", Path: filepath.Join(dir, "small_files")},
	}
	for i, r := range p {
		if r.Name != want[i].Name || r.Path != want[i].Path || r.Previous != want[i].Previous {
			t.Fatalf("Replaced[%d] = %+v, want %+v", i, r, want[i])
		}
	}
	if _, err := os.Stat(canary); err == nil {
		t.Fatal("the folder name ran a command")
	}
}

// A rename failing half-way is undone: the FE folder is as before.
func TestPlanRollsBackAFailedRename(t *testing.T) {
	dir, staging, _ := newFolders(t)
	before := snapshot(t, dir)
	bin := t.TempDir()
	// mv fails for the staged small_files, the last rename of the plan.
	mkfile(t, filepath.Join(bin, "mv"), "#!/bin/sh\ncase \"$3\" in *small_files) echo 'mv: injected failure' >&2; exit 1;; esac\nexec /bin/mv \"$@\"\n")
	if err := os.Chmod(filepath.Join(bin, "mv"), 0o755); err != nil {
		t.Fatal(err)
	}
	p := plan(dir, staging, "meta", "conf", "small_files")
	out, err := runPlan(t, p, bin)
	if err == nil || !strings.Contains(out, "cannot move") || strings.Contains(out, "ROLLBACK FAILED") {
		t.Fatalf("want a failed, rolled back swap: %v\n%s", err, out)
	}
	if after := snapshot(t, dir); after != before {
		t.Fatalf("FE folder changed by a failed swap:\nbefore %s\nafter  %s", before, after)
	}
	if read(t, filepath.Join(staging, "meta", "bdb", "00000000.jdb")) != "new jdb" {
		t.Fatal("the staged meta was not put back")
	}
}

func TestPlanRefusesExistingTargets(t *testing.T) {
	dir, staging, _ := newFolders(t)
	mkfile(t, filepath.Join(dir, "meta.before-restore-20261124T000000Z", "x"), "older restore")
	before := snapshot(t, dir)
	p := plan(dir, staging, "meta", "conf")
	out, err := runPlan(t, p, "")
	if err == nil || !strings.Contains(out, "already exists") {
		t.Fatalf("want a refusal: %v\n%s", err, out)
	}
	if after := snapshot(t, dir); after != before {
		t.Fatal("FE folder changed by a refused swap")
	}
}

func snapshot(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		b.WriteString(strings.TrimPrefix(p, dir))
		if fi.Mode().IsRegular() {
			c, _ := os.ReadFile(p)
			b.WriteString("=" + string(c))
		}
		b.WriteString(";")
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}
