package testbed

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// SmallDisk mounts a tmpfs of sizeMiB MiB on a new temporary folder and
// unmounts it at the test's end: a small filesystem of its own, to fill
// up, or to be another filesystem than the test's temporary folders (a
// data disk). Mounting needs root; without it the test fails.
func SmallDisk(t testing.TB, sizeMiB int) string {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Fatal("testbed: mounting a tmpfs needs root: run these tests as root")
	}
	dir := t.TempDir()
	out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+strconv.Itoa(sizeMiB)+"m,mode=755", "srb-test", dir).CombinedOutput()
	if err != nil {
		t.Fatalf("testbed: mount a tmpfs on %s: %v: %s", dir, err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			t.Errorf("testbed: umount %s: %v: %s", dir, err, out)
		}
	})
	return dir
}

// FillDisk writes a file of zeros into dir until its filesystem has about
// leaveKiB KiB free, and returns the file's path.
func FillDisk(t testing.TB, dir string, leaveKiB int64) string {
	t.Helper()
	p := dir + "/.srb-filler"
	out, err := exec.Command("sh", "-c", `avail=$(df -Pk -- "$1" | awk 'NR==2 {print $4}')
n=$((avail - $2)); [ "$n" -gt 0 ] || n=0
dd if=/dev/zero of="$1/.srb-filler" bs=1024 count="$n" status=none`, "sh", dir, strconv.FormatInt(leaveKiB, 10)).CombinedOutput()
	if err != nil {
		t.Fatalf("testbed: fill %s: %v: %s", dir, err, out)
	}
	return p
}

// WriteFile writes content to p, creating its folders.
func WriteFile(t testing.TB, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
