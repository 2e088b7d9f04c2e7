//go:build e2e

package fe_test

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// moveMeta moves the fixture's meta/ to dst (another filesystem: copied).
func moveMeta(t *testing.T, fx *testbed.FEFixture, dst string) {
	t.Helper()
	if out, err := exec.Command("cp", "-a", filepath.Join(fx.Dir, "meta"), dst).CombinedOutput(); err != nil {
		t.Fatalf("cp: %v %s", err, out)
	}
	if err := os.RemoveAll(filepath.Join(fx.Dir, "meta")); err != nil {
		t.Fatal(err)
	}
}

// metaMembers returns the archive's meta/ files with their content.
func metaMembers(t *testing.T, p string) map[string]string {
	t.Helper()
	_, content := testbed.TarMembers(t, p)
	out := map[string]string{}
	for n, b := range content {
		if strings.HasPrefix(n, "meta/") && !strings.HasSuffix(n, "/") {
			out[strings.TrimPrefix(n, "meta/")] = string(b)
		}
	}
	return out
}

// files returns the files under dir with their content.
func files(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil || !fi.Mode().IsRegular() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		b, err := os.ReadFile(p)
		out[rel] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sameFiles(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d files, want %d", what, len(got), len(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: %s differs", what, k)
		}
	}
}

// Issue 9 #3: the metadata is archived from where the FE reads it. A
// meta/ that is a symbolic link to a data disk, and a meta_dir set in
// fe.conf while a stale meta/ sits in the FE folder, both archive the real
// metadata as meta/; the result says where it came from.
func TestArchiveReadsTheRealMetaFolder(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	want := files(t, filepath.Join(fx.Dir, "meta"))
	for _, ex := range fx.Excluded {
		delete(want, strings.TrimPrefix(ex, "meta/"))
	}
	data := t.TempDir()
	moveMeta(t, fx, filepath.Join(data, "meta"))
	if err := os.Symlink(filepath.Join(data, "meta"), filepath.Join(fx.Dir, "meta")); err != nil {
		t.Fatal(err)
	}
	remote := filepath.Join(t.TempDir(), "link.tar.gz")
	r := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", remote).Env(s.Env()...).Run()
	testbed.WantCode(t, r, 0)
	if r.Num("jdb_files") != int64(len(fx.JDB)) || r.Str("meta_dir") != filepath.Join(data, "meta") ||
		r.Num("image_version") != fx.ImageVersion || r.Str("cluster_id") != fx.ClusterID {
		t.Fatalf("archive of a symlinked meta/: %s", r.Line)
	}
	sameFiles(t, "meta/ archived through the link", metaMembers(t, remote), want)

	// meta_dir elsewhere, a stale meta/ left in the FE folder.
	if err := os.Remove(filepath.Join(fx.Dir, "meta")); err != nil {
		t.Fatal(err)
	}
	testbed.WriteFile(t, filepath.Join(fx.Dir, "meta", "bdb", "00000000.jdb"), "stale")
	testbed.WriteFile(t, filepath.Join(fx.Dir, "meta", "image", "VERSION"), "clusterId=1\n")
	testbed.WriteFile(t, filepath.Join(fx.Dir, "meta", "image", "image.5"), "stale image")
	conf := filepath.Join(fx.Dir, "conf", "fe.conf")
	b, _ := os.ReadFile(conf)
	testbed.WriteFile(t, conf, strings.Replace(string(b), "meta_dir = ${STARROCKS_HOME}/meta", "meta_dir = "+filepath.Join(data, "meta"), 1))
	remote = filepath.Join(t.TempDir(), "conf.tar.gz")
	r = testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", remote, "--include", ".").Env(s.Env()...).Run()
	testbed.WantCode(t, r, 0)
	if r.Str("meta_dir") != filepath.Join(data, "meta") || r.Str("cluster_id") != fx.ClusterID {
		t.Fatalf("archive with meta_dir set: %s", r.Line)
	}
	sameFiles(t, "meta/ archived from meta_dir", metaMembers(t, remote), want)
}

// Issue 9 #3: an archive that should hold the metadata but would hold no
// .jdb file, no meta/image/VERSION or no image fails, leaving nothing;
// --allow-empty accepts it.
func TestArchiveWithoutMetadataFails(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	if err := os.RemoveAll(filepath.Join(fx.Dir, "meta")); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"meta/bdb", "meta/image"} {
		if err := os.MkdirAll(filepath.Join(fx.Dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	out := t.TempDir()
	r := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "a.tar.gz")).Env(s.Env()...).Run()
	testbed.WantCode(t, r, 1)
	for _, want := range []string{"no .jdb file", "no meta/image/VERSION", "no finished image", "--allow-empty"} {
		if !strings.Contains(r.Str("error"), want) {
			t.Fatalf("error %q lacks %q", r.Str("error"), want)
		}
	}
	testbed.WantEntries(t, out)
	ok := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "a.tar.gz"), "--allow-empty").
		Env(s.Env()...).Run()
	testbed.WantCode(t, ok, 0)
	testbed.WantEntries(t, out, "a.tar.gz")
}

// Issue 9 #3: fe-extract puts meta/ back into the symbolic link's target
// on another filesystem (a data disk): the link stays a link, the
// previous copy is kept beside the target there, and nothing lands on the
// FE folder's disk.
func TestExtractIntoSymlinkedMeta(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	disk := testbed.SmallDisk(t, 64)
	target := filepath.Join(disk, "fe-meta")
	moveMeta(t, fx, target)
	link := filepath.Join(fx.Dir, "meta")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	local := archiveAndFetch(t, s, fx)
	archived := metaMembers(t, local)
	testbed.WriteFile(t, filepath.Join(target, "bdb", "0000000f.jdb"), "written after the backup")
	broken := files(t, target)

	r := testbed.Task(t, "fe-extract", "--local-path", local, "--fe-dir", fx.Dir, "--fe-ports", "none").Env(s.Env()...).Run()
	testbed.WantCode(t, r, 0)
	if got, err := os.Readlink(link); err != nil || got != target {
		t.Fatalf("the FE folder's meta is no longer the link to %s: %q %v", target, got, err)
	}
	sameFiles(t, "restored meta", files(t, target), archived)
	if r.Str("meta_dir") != target {
		t.Fatalf("meta_dir %q, want %q: %s", r.Str("meta_dir"), target, r.Line)
	}
	var replaced []struct{ Name, Path, Previous string }
	raw, _ := json.Marshal(r.Fields["replaced"])
	_ = json.Unmarshal(raw, &replaced)
	var prev string
	for _, e := range replaced {
		if e.Name == "meta" {
			if e.Path != target || !strings.HasPrefix(e.Previous, target+".before-restore-") {
				t.Fatalf("meta replaced as %+v", e)
			}
			prev = e.Previous
		}
	}
	if prev == "" {
		t.Fatalf("no meta in replaced: %s", raw)
	}
	sameFiles(t, "previous meta kept on the data disk", files(t, prev), broken)
	testbed.WantEntries(t, disk, "fe-meta", filepath.Base(prev))
	testbed.WantEntries(t, filepath.Dir(fx.Dir), filepath.Base(fx.Dir))
	for _, e := range dirEntries(t, fx.Dir) {
		if strings.HasPrefix(e, "meta.") {
			t.Fatalf("%s left in the FE folder", e)
		}
	}
}

// Issue 9 #8: fe-extract restores what fe-archive puts in (meta, conf,
// small_files); an archive of the whole folder (bin/, lib/, log/) is
// refused, changing nothing, unless --include names the others.
func TestExtractRefusesUnaskedEntries(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	remote := filepath.Join(t.TempDir(), "all.tar.gz")
	testbed.WantCode(t, testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", remote, "--include", ".").Env(s.Env()...).Run(), 0)
	testbed.WriteFile(t, filepath.Join(fx.Dir, "bin", "start_fe.sh"), "#!/bin/sh\necho newer start_fe.sh\n")
	before, err := testbed.TreeDigest(filepath.Dir(fx.Dir))
	if err != nil {
		t.Fatal(err)
	}
	r := testbed.Task(t, "fe-extract", "--local-path", remote, "--fe-dir", fx.Dir, "--fe-ports", "none").Env(s.Env()...).Run()
	testbed.WantCode(t, r, 1)
	for _, want := range []string{"bin, lib, log", "--include", "nothing was changed"} {
		if !strings.Contains(r.Str("error"), want) {
			t.Fatalf("error %q lacks %q", r.Str("error"), want)
		}
	}
	unchanged(t, fx, before)

	r = testbed.Task(t, "fe-extract", "--local-path", remote, "--fe-dir", fx.Dir, "--fe-ports", "none", "--include", "bin").
		Env(append(s.Env(), "SRB_INCLUDE=lib,log")...).Run()
	testbed.WantCode(t, r, 1) // the flag wins over the variable: lib, log still refused
	if !strings.Contains(r.Str("error"), "lib, log") {
		t.Fatalf("error %q", r.Str("error"))
	}
	r = testbed.Task(t, "fe-extract", "--local-path", remote, "--fe-dir", fx.Dir, "--fe-ports", "none").
		Env(append(s.Env(), "SRB_INCLUDE=bin,lib,log")...).Run()
	testbed.WantCode(t, r, 0)
	if b, _ := os.ReadFile(filepath.Join(fx.Dir, "bin", "start_fe.sh")); strings.Contains(string(b), "newer") {
		t.Fatal("bin/ was not restored with --include bin")
	}
}

// writeStoredArchive writes an FE archive of a meta/ holding a file of
// size bytes (random, or zeros when zeros), gzip-compressed (zeros: a
// "bomb") or stored (random: fast to write and to check).
func writeStoredArchive(t *testing.T, size int64, zeros bool) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "fe.tar.gz")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	level := gzip.NoCompression
	if zeros {
		level = gzip.BestSpeed
	}
	zw, _ := gzip.NewWriterLevel(f, level)
	tw := tar.NewWriter(zw)
	add := func(name string, n int64, fill func([]byte)) {
		if err := tw.WriteHeader(&tar.Header{Name: name, Mode: 0o644, Size: n, Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 1<<20)
		for left := n; left > 0; left -= int64(len(buf)) {
			b := buf[:min(left, int64(len(buf)))]
			fill(b)
			if _, err := tw.Write(b); err != nil {
				t.Fatal(err)
			}
		}
	}
	rng := rand.NewChaCha8([32]byte{1})
	fill := func(b []byte) { _, _ = rng.Read(b) }
	if zeros {
		fill = func([]byte) {}
	}
	add("meta/bdb/00000000.jdb", size, fill)
	add("meta/image/VERSION", 14, func(b []byte) { copy(b, "clusterId=123\n") })
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return p
}

// Issue 9 #15: Airflow's kill escalation (a second SIGTERM) while
// fe-extract pushes the archive into its staging folder: exit 130, one
// result line, the xcom file written, and no staging folder left.
func TestExtractTwoSIGTERMsRemoveStaging(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	local := writeStoredArchive(t, 400<<20, false)
	parent := filepath.Dir(fx.Dir)
	pushing := func() bool {
		m, _ := filepath.Glob(filepath.Join(parent, ".*.fe-extract-*", "archive.tar.gz"))
		return len(m) > 0
	}
	r := testbed.Task(t, "fe-extract", "--local-path", local, "--fe-dir", fx.Dir, "--fe-ports", "none").Env(s.Env()...).
		RunSignalled(syscall.SIGTERM, 2, pushing)
	testbed.WantCode(t, r, 130)
	testbed.WantEntries(t, parent, filepath.Base(fx.Dir))
}

// Issue 9 #16: an archive that does not fit the FE folder's disk (a
// "bomb": small compressed, large extracted) fails with the whole reason,
// "No space left on device", changes nothing and leaves no staging folder.
func TestExtractFullDiskSaysWhy(t *testing.T) {
	t.Parallel()
	s := testbed.NewSSHD(t)
	disk := testbed.SmallDisk(t, 24)
	fx, err := testbed.WriteFEFixture(filepath.Join(disk, "fe"))
	if err != nil {
		t.Fatal(err)
	}
	bomb := writeStoredArchive(t, 64<<20, true)
	before, err := testbed.TreeDigest(disk)
	if err != nil {
		t.Fatal(err)
	}
	r := testbed.Task(t, "fe-extract", "--local-path", bomb, "--fe-dir", fx.Dir, "--fe-ports", "none").Env(s.Env()...).Run()
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "No space left on device") || !strings.Contains(r.Str("error"), "nothing was changed") {
		t.Fatalf("error %q", r.Str("error"))
	}
	unchanged(t, fx, before)
}
