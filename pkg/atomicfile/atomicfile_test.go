package atomicfile

import (
	"os"
	"path/filepath"
	"testing"
)

func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

func TestCommitReplacesAbortKeeps(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	if err := os.WriteFile(dest, []byte("old"), 0o600); err != nil {
		t.Fatal(err)
	}

	f, err := Create(dest)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("half")
	if got := entries(t, dir); len(got) != 2 {
		t.Fatalf("the temporary file should sit beside the destination: %v", got)
	}
	f.Abort()
	if b, _ := os.ReadFile(dest); string(b) != "old" || len(entries(t, dir)) != 1 {
		t.Fatalf("Abort changed the destination or left a file: %q %v", b, entries(t, dir))
	}

	if err := Write(dest, []byte("new"), 0o644); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dest)
	if b, _ := os.ReadFile(dest); string(b) != "new" || err != nil || fi.Mode().Perm() != 0o644 || len(entries(t, dir)) != 1 {
		t.Fatalf("Write: %q mode %v entries %v (%v)", b, fi.Mode(), entries(t, dir), err)
	}
	if _, err := Create(filepath.Join(dir, "missing", "x")); err == nil {
		t.Fatal("Create in a missing folder succeeded")
	}
}
