package localfile

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

func TestCheckOutput(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	if err := os.WriteFile(file, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := map[string]string{
		filepath.Join(dir, "new"):     "",
		file:                          "",
		filepath.Join(dir, "no", "x"): "does not exist",
		filepath.Join(file, "x"):      "is a file, not a folder",
		dir:                           "is a folder",
		"":                            "is required",
	}
	for p, want := range cases {
		err := CheckOutput("--local-path", p)
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", p, err)
			}
			continue
		}
		if err == nil || !usage.Is(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: %v, want a usage error with %q", p, err, want)
		}
	}
}

func TestOpenRegularAndReason(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := OpenRegular("--local-path", dir); err == nil || !strings.Contains(err.Error(), "not a regular file") {
		t.Fatalf("folder accepted: %v", err)
	}
	_, _, err := OpenRegular("--local-path", filepath.Join(dir, "missing"))
	if err == nil || !usage.Is(err) || strings.Count(err.Error(), "missing") != 1 {
		t.Fatalf("missing file: %v (the path must appear once)", err)
	}
	_, err = os.Open(filepath.Join(dir, "missing"))
	if !errors.Is(Reason(err), os.ErrNotExist) || strings.Contains(Reason(err).Error(), dir) {
		t.Fatalf("Reason kept the path or lost the cause: %v", Reason(err))
	}
}
