package fe

import (
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/sshx"
)

// runLib runs body after scripts/archive-lib.sh with a local sh (the
// GNU tools of an FE host) and the given variables; it returns stdout.
func runLib(t *testing.T, body string, vars map[string]string) string {
	t.Helper()
	s := sshx.NewScript(archiveLib + body)
	for k, v := range vars {
		s.Set(k, v)
	}
	out, err := exec.Command("sh", "-c", s.String()).CombinedOutput()
	if err != nil {
		t.Fatalf("script failed: %v\n%s", err, out)
	}
	return string(out)
}

// The hot-copy order: by folder, then by numeric file number, whatever
// the case or width of the hex name, which is not a listing's order.
func TestJDBOrderIsNumericHexOrder(t *testing.T) {
	want := []string{
		"meta/bdb/00000000.jdb", "meta/bdb/00000001.jdb", "meta/bdb/00000009.jdb", "meta/bdb/0000000a.jdb",
		"meta/bdb/0000000B.jdb", "meta/bdb/0000000c.jdb", "meta/bdb/00000010.jdb", "meta/bdb/000000ff.jdb",
		"meta/bdb/00000100.jdb", "meta/bdb/0000000000001000.jdb", "meta/bdb/ffffffff.jdb", "meta/bdb/0000000100000000.jdb",
		"meta/bdb/sub/00000000.jdb",
	}
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 5; i++ {
		in := append([]string{}, want...)
		rng.Shuffle(len(in), func(i, j int) { in[i], in[j] = in[j], in[i] })
		got := runLib(t, `set -f; IFS='
'; set -- $names; printf '%s\0' "$@" | jdb_order | tr '\0' '\n'`+"\n",
			map[string]string{"names": strings.Join(in, "\n"), "tmpd": t.TempDir(), "metacfg": "/nonexistent"})
		if strings.TrimSuffix(got, "\n") != strings.Join(want, "\n") {
			t.Fatalf("jdb_order:\n got %v\nwant %v", strings.Fields(got), want)
		}
	}
}

// What a listing keeps and what it never archives: checkpoints being
// written, temp, lock and pid files, fe-extract's kept copies and all
// below them; the FE folder's own meta/ is read on the meta side, from
// the real meta folder (here a symbolic link to elsewhere).
func TestListingRules(t *testing.T) {
	base := t.TempDir()
	d, real := filepath.Join(base, "fe"), filepath.Join(base, "data", "meta")
	for _, f := range []string{
		"conf/fe.conf", "conf/fe.conf~", "conf/.fe.conf.swp", "bin/fe.pid", "log/x.tmp",
		"meta.before-restore-20261124T000000Z/bdb/00000000.jdb", "-dash",
	} {
		mkfile(t, filepath.Join(d, f), "x")
	}
	for _, f := range []string{
		"bdb/00000000.jdb", "bdb/0000000A.jdb", "bdb/je.lck", "bdb/je.info.0", "image/image.1041", "image/image.ckpt",
		"image/v2/image.ckpt/part", "image/VERSION",
	} {
		mkfile(t, filepath.Join(real, f), "x")
	}
	if err := os.Symlink(real, filepath.Join(d, "meta")); err != nil {
		t.Fatal(err)
	}
	tmpd := filepath.Join(base, "tmp")
	out := runLib(t, `mkdir -p "$view" && ln -s "$mreal" "$view/meta" && list_all
for f in all.o all.j ex; do printf '%s:' "$f"; sort -z "$tmpd/$f" | tr '\0' ' '; echo; done`+"\n",
		map[string]string{"d": d, "metacfg": filepath.Join(d, "meta"), "tmpd": tmpd, "fe_req": ".", "me_opt": "meta/"})
	want := map[string][]string{
		// A name starting with '-' keeps its ./ (tar would read an option).
		"all.o": {"./-dash", "bin", "conf", "conf/fe.conf", "log", "meta/.", "meta/bdb", "meta/bdb/je.info.0",
			"meta/image", "meta/image/VERSION", "meta/image/image.1041", "meta/image/v2"},
		"all.j": {"meta/bdb/00000000.jdb", "meta/bdb/0000000A.jdb"},
		"ex": {"./bin/fe.pid", "./conf/.fe.conf.swp", "./conf/fe.conf~", "./log/x.tmp", "./meta.before-restore-20261124T000000Z",
			"./meta.before-restore-20261124T000000Z/bdb", "./meta.before-restore-20261124T000000Z/bdb/00000000.jdb",
			"meta/bdb/je.lck", "meta/image/image.ckpt", "meta/image/v2/image.ckpt", "meta/image/v2/image.ckpt/part"},
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		name, list, _ := strings.Cut(line, ":")
		got := strings.Fields(list)
		w := want[name]
		sort.Strings(w)
		if strings.Join(got, " ") != strings.Join(w, " ") {
			t.Errorf("%s:\n got %v\nwant %v", name, got, w)
		}
	}
}
