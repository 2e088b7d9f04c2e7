package fe

import (
	"math/rand"
	"strings"
	"testing"
	"time"
)

func TestSortJDBIsNumericHexOrder(t *testing.T) {
	want := []string{
		"meta/bdb/00000000.jdb", "meta/bdb/00000001.jdb", "meta/bdb/00000009.jdb", "meta/bdb/0000000a.jdb",
		"meta/bdb/0000000B.jdb", "meta/bdb/0000000c.jdb", "meta/bdb/00000010.jdb", "meta/bdb/000000ff.jdb",
		"meta/bdb/00000100.jdb", "meta/bdb/0000000000001000.jdb", "meta/bdb/ffffffff.jdb", "meta/bdb/0000000100000000.jdb",
		"meta/other/00000000.jdb",
	}
	rng := rand.New(rand.NewSource(7))
	for i := 0; i < 20; i++ {
		got := append([]string{}, want...)
		rng.Shuffle(len(got), func(i, j int) { got[i], got[j] = got[j], got[i] })
		SortJDB(got)
		if strings.Join(got, " ") != strings.Join(want, " ") {
			t.Fatalf("SortJDB order:\n got %v\nwant %v", got, want)
		}
	}
	for name, n := range map[string]uint64{"0000000a.jdb": 10, "meta/bdb/000000FF.jdb": 255} {
		if got, ok := JDBNumber(name); !ok || got != n {
			t.Errorf("JDBNumber(%q) = %d %v", name, got, ok)
		}
	}
	for _, name := range []string{"je.info.0", "0000000g.jdb", "1.jdb", "00000000.jdb.bak", "00000000.jdbx"} {
		if IsJDB(name) {
			t.Errorf("%q taken for a .jdb", name)
		}
	}
}

func TestImageVersion(t *testing.T) {
	cases := []struct {
		paths []string
		want  int64
		ok    bool
	}{
		{[]string{"meta/image/image.998", "meta/image/image.1041", "meta/image/v2/image.1041", "meta/image/starmgr/image.5000", "meta/image/image.ckpt"}, 1041, true},
		{[]string{"meta/image/v2/image.2000", "meta/image/image.1041", "meta/image/v2/checksum.3000"}, 2000, true},
		{[]string{"image/image.7"}, 7, true}, // relative to the meta folder
		{[]string{"meta/image/starmgr/image.9", "meta/image/image.ckpt", "meta/image/VERSION", "meta/image/image.12a"}, 0, false},
		{nil, 0, false},
	}
	for _, c := range cases {
		got, ok := ImageVersion(c.paths)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("ImageVersion(%v) = %d %v, want %d %v", c.paths, got, ok, c.want, c.ok)
		}
	}
}

func TestParseClusterID(t *testing.T) {
	v := "#Sun Nov 24 00:00:00 UTC 2026\nclusterId=1403234520\ntoken=abc\nrunMode=shared_data\n"
	if got := ParseClusterID(v); got != "1403234520" {
		t.Fatalf("cluster id %q", got)
	}
	if got := ParseClusterID("clusterId = 42\r\n"); got != "42" {
		t.Fatalf("cluster id with blanks %q", got)
	}
	if got := ParseClusterID("# clusterId=1\n"); got != "" {
		t.Fatalf("commented cluster id read: %q", got)
	}
}

func TestExcluded(t *testing.T) {
	for p, want := range map[string]string{
		"meta/image/image.ckpt":     ReasonCheckpoint,
		"meta/image/v2/image.ckpt":  ReasonCheckpoint,
		"meta/image/starmgr/x.ckpt": ReasonCheckpoint,
		"meta/bdb/je.lck":           ReasonLock,
		"bin/fe.pid":                ReasonPid,
		"meta/image/image.1.tmp":    ReasonTemp,
		"conf/fe.conf~":             ReasonTemp,
		"conf/.fe.conf.swp":         ReasonTemp,
		"meta.before-restore-20261124T000000Z/bdb/00000000.jdb": ReasonRestore,
		"meta/image/image.1041":                                 "",
		"meta/bdb/0000000b.jdb":                                 "",
		"meta/bdb/je.info.0":                                    "",
		"conf/fe.conf":                                          "",
		"meta/image/v2/checksum.1":                              "",
	} {
		ex, why := Excluded(p)
		if ex != (want != "") || why != want {
			t.Errorf("Excluded(%q) = %v %q, want %q", p, ex, why, want)
		}
	}
}

func TestCleanInclude(t *testing.T) {
	for in, want := range map[string]string{"meta": "meta", "./meta/": "meta", ".": ".", " conf ": "conf", "meta//image": "meta/image"} {
		if got, err := CleanInclude(in); err != nil || got != want {
			t.Errorf("CleanInclude(%q) = %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "/etc", "../x", "meta/../../x", "-rf", "a\nb"} {
		if _, err := CleanInclude(bad); err == nil {
			t.Errorf("CleanInclude(%q) accepted", bad)
		}
	}
}

func TestSetConf(t *testing.T) {
	const key = ResetElectionGroupKey
	cases := []struct{ in, want string }{
		{"a = 1\n", "a = 1\n" + key + " = true\n"},
		{"a = 1", "a = 1\n" + key + " = true\n"},
		{"", key + " = true\n"},
		{"# " + key + " = false\na = 1\n", "# " + key + " = false\na = 1\n" + key + " = true\n"},
		{key + "=false\na = 1\n" + key + " = false\n", key + " = true\na = 1\n"},
		{"a = 1\n  " + key + "   =   TRUE  \nb = 2\n", "a = 1\n" + key + " = true\nb = 2\n"},
	}
	for _, c := range cases {
		got, changed := SetConf(c.in, key, "true")
		if got != c.want || !changed {
			t.Errorf("SetConf(%q) = %q %v, want %q", c.in, got, changed, c.want)
		}
		again, changed := SetConf(got, key, "true")
		if again != got || changed {
			t.Errorf("SetConf is not idempotent on %q: %q %v", got, again, changed)
		}
		if v, ok := ConfValue(got, key); !ok || v != "true" {
			t.Errorf("ConfValue after SetConf = %q %v", v, ok)
		}
	}
}

func TestPidFilesAndPorts(t *testing.T) {
	d := "/opt/starrocks/fe"
	if got := PidFiles(d, ""); strings.Join(got, ",") != d+"/bin/fe.pid" {
		t.Fatalf("PidFiles without PID_DIR: %v", got)
	}
	for conf, second := range map[string]string{
		"PID_DIR = /var/run/sr\n":              "/var/run/sr/fe.pid",
		"PID_DIR=${STARROCKS_HOME}/run\n":      d + "/run/fe.pid",
		"PID_DIR = \"$STARROCKS_HOME/pids\"\n": d + "/pids/fe.pid",
		"PID_DIR = run\n":                      d + "/run/fe.pid",
	} {
		got := PidFiles(d, conf)
		if len(got) != 2 || got[1] != second {
			t.Errorf("PidFiles(%q) = %v, want second %s", conf, got, second)
		}
	}
	if got := ConfPorts("query_port = 19030\nedit_log_port=19010\nhttp_port = 8030\n"); len(got) != 2 || got[0] != 19010 || got[1] != 19030 {
		t.Fatalf("ConfPorts = %v", got)
	}
	if md := MetaDir(d, "meta_dir = ${STARROCKS_HOME}/meta\n"); md != d+"/meta" {
		t.Fatalf("MetaDir = %q", md)
	}
	if _, err := ParsePorts("--fe-ports", "9010,x"); err == nil {
		t.Fatal("bad port list accepted")
	}
	if p, err := ParsePorts("--fe-ports", " 9010, 9030 ,"); err != nil || len(p) != 2 {
		t.Fatalf("ParsePorts = %v %v", p, err)
	}
}

func TestListeningPorts(t *testing.T) {
	procNet := `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:2352 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
   1: 0100007F:2332 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2 1 0000000000000000 100 0 0 10 0
   2: 0100007F:1F5E 0100007F:A1B2 01 00000000:00000000 00:00000000 00000000     0        0 3 1 0000000000000000 20 4 30 10 -1
  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:1F92 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4 1 0000000000000000 100 0 0 10 0
`
	got := ListeningPorts(procNet)
	for _, p := range []int{9042, 9010, 8082} {
		if !got[p] {
			t.Errorf("port %d not seen listening in %v", p, got)
		}
	}
	if got[8030] || len(got) != 3 {
		t.Errorf("an established connection taken for a listener: %v", got)
	}
}

func TestClassifyTarStderr(t *testing.T) {
	stderr := `tar: meta/bdb/00000001.jdb: Warning: Cannot stat: No such file or directory
tar: meta/bdb/00000002.jdb: Warning: Cannot open: No such file or directory
tar: meta/bdb/00000003.jdb: File removed before we read it
tar: meta/bdb/0000000b.jdb: file changed as we read it
tar: Exiting with failure status due to previous errors
`
	vanished, problems := classifyTarStderr(stderr)
	if len(problems) != 0 || strings.Join(vanished, ",") != "meta/bdb/00000001.jdb,meta/bdb/00000002.jdb,meta/bdb/00000003.jdb" {
		t.Fatalf("vanished %v problems %v", vanished, problems)
	}
	_, problems = classifyTarStderr("tar: meta/image/ROLE: Warning: Cannot open: Permission denied\ntar: /tmp/x/fe.tar: Wrote only 4096 of 10240 bytes\n")
	if len(problems) != 2 {
		t.Fatalf("real problems not reported: %v", problems)
	}
}

// The passes of a hot copy: the first reads everything, .jdb files last
// in numeric order; a later pass appends what is new plus the .jdb that
// was the last one (still being written when read).
func TestArchiveBatches(t *testing.T) {
	a := &archiver{done: map[string]bool{}}
	entries := func(names ...string) []entry {
		var e []entry
		for _, n := range names {
			kind := byte('f')
			if !strings.Contains(n, ".") {
				kind = 'd'
			}
			e = append(e, entry{name: n, kind: kind})
		}
		return e
	}
	first := a.firstBatch(entries("meta", "meta/bdb", "meta/bdb/0000000b.jdb", "meta/bdb/00000009.jdb",
		"meta/bdb/0000000a.jdb", "meta/bdb/je.info.0", "meta/image", "meta/image/image.1041", "conf", "conf/fe.conf"))
	want := "conf conf/fe.conf meta meta/bdb meta/bdb/je.info.0 meta/image meta/image/image.1041 " +
		"meta/bdb/00000009.jdb meta/bdb/0000000a.jdb meta/bdb/0000000b.jdb"
	if strings.Join(first, " ") != want {
		t.Fatalf("first batch:\n got %s\nwant %s", strings.Join(first, " "), want)
	}
	for _, n := range first {
		a.done[n] = true
	}
	a.lastJDB = "meta/bdb/0000000b.jdb"
	if b := a.nextBatch(entries("meta/bdb/0000000a.jdb", "meta/bdb/0000000b.jdb", "conf/fe.conf")); b != nil {
		t.Fatalf("nothing new, yet batch %v", b)
	}
	next := a.nextBatch(entries("meta/bdb/0000000b.jdb", "meta/bdb/00000010.jdb", "meta/bdb/0000000c.jdb", "meta/image/image.1100"))
	want = "meta/image/image.1100 meta/bdb/0000000b.jdb meta/bdb/0000000c.jdb meta/bdb/00000010.jdb"
	if strings.Join(next, " ") != want {
		t.Fatalf("next batch:\n got %s\nwant %s", strings.Join(next, " "), want)
	}
}

func TestTimestamp(t *testing.T) {
	ts := time.Date(2026, 11, 24, 1, 2, 3, 0, time.FixedZone("X", 3600))
	if got := Timestamp(ts); got != "20261124T000203Z" {
		t.Fatalf("Timestamp = %s", got)
	}
}
