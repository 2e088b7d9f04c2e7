package fe

import (
	"strings"
	"testing"
	"time"
)

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
		got, ok := imageVersion(c.paths)
		if ok != c.ok || (ok && got != c.want) {
			t.Errorf("imageVersion(%v) = %d %v, want %d %v", c.paths, got, ok, c.want, c.ok)
		}
	}
}

func TestParseClusterID(t *testing.T) {
	v := "#Sun Nov 24 00:00:00 UTC 2026\nclusterId=1403234520\ntoken=abc\nrunMode=shared_data\n"
	if got := parseClusterID(v); got != "1403234520" {
		t.Fatalf("cluster id %q", got)
	}
	if got := parseClusterID("clusterId = 42\r\n"); got != "42" {
		t.Fatalf("cluster id with blanks %q", got)
	}
	if got := parseClusterID("# clusterId=1\n"); got != "" {
		t.Fatalf("commented cluster id read: %q", got)
	}
}

func TestCleanInclude(t *testing.T) {
	for in, want := range map[string]string{"meta": "meta", "./meta/": "meta", ".": ".", " conf ": "conf", "meta//image": "meta/image"} {
		if got, err := cleanInclude(in); err != nil || got != want {
			t.Errorf("cleanInclude(%q) = %q %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "/etc", "../x", "meta/../../x", "-rf", "a\nb"} {
		if _, err := cleanInclude(bad); err == nil {
			t.Errorf("cleanInclude(%q) accepted", bad)
		}
	}
}

func TestSetConf(t *testing.T) {
	const key = resetElectionGroupKey
	cases := []struct{ in, want string }{
		{"a = 1\n", "a = 1\n" + key + " = true\n"},
		{"a = 1", "a = 1\n" + key + " = true\n"},
		{"", key + " = true\n"},
		{"# " + key + " = false\na = 1\n", "# " + key + " = false\na = 1\n" + key + " = true\n"},
		{key + "=false\na = 1\n" + key + " = false\n", key + " = true\na = 1\n"},
		{"a = 1\n  " + key + "   =   TRUE  \nb = 2\n", "a = 1\n" + key + " = true\nb = 2\n"},
	}
	for _, c := range cases {
		got, changed := setConf(c.in, key, "true")
		if got != c.want || !changed {
			t.Errorf("setConf(%q) = %q %v, want %q", c.in, got, changed, c.want)
		}
		again, changed := setConf(got, key, "true")
		if again != got || changed {
			t.Errorf("setConf is not idempotent on %q: %q %v", got, again, changed)
		}
		if v, ok := confValue(got, key); !ok || v != "true" {
			t.Errorf("confValue after setConf = %q %v", v, ok)
		}
	}
}

func TestPidFilesAndPorts(t *testing.T) {
	d := "/opt/starrocks/fe"
	if got := pidFiles(d, ""); strings.Join(got, ",") != d+"/bin/fe.pid" {
		t.Fatalf("pidFiles without PID_DIR: %v", got)
	}
	for conf, second := range map[string]string{
		"PID_DIR = /var/run/sr\n":              "/var/run/sr/fe.pid",
		"PID_DIR=${STARROCKS_HOME}/run\n":      d + "/run/fe.pid",
		"PID_DIR = \"$STARROCKS_HOME/pids\"\n": d + "/pids/fe.pid",
		"PID_DIR = run\n":                      d + "/run/fe.pid",
	} {
		got := pidFiles(d, conf)
		if len(got) != 2 || got[1] != second {
			t.Errorf("pidFiles(%q) = %v, want second %s", conf, got, second)
		}
	}
	if got := confPorts("query_port = 19030\nedit_log_port=19010\nhttp_port = 8030\n"); len(got) != 2 || got[0] != 19010 || got[1] != 19030 {
		t.Fatalf("confPorts = %v", got)
	}
	for conf, want := range map[string]string{
		"meta_dir = ${STARROCKS_HOME}/meta\n": d + "/meta",
		"meta_dir = /data/fe-meta\n":          "/data/fe-meta",
		"meta_dir = data/meta\n":              d + "/data/meta",
		"# meta_dir = /elsewhere\n":           d + "/meta", // StarRocks' default: STARROCKS_HOME/meta
		"":                                    d + "/meta",
	} {
		if md := metaDir(d, conf); md != want {
			t.Errorf("metaDir(%q) = %q, want %q", conf, md, want)
		}
	}
	if _, err := parsePorts("--fe-ports", "9010,x"); err == nil {
		t.Fatal("bad port list accepted")
	}
	if p, err := parsePorts("--fe-ports", " 9010, 9030 ,"); err != nil || len(p) != 2 {
		t.Fatalf("parsePorts = %v %v", p, err)
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
	got := listeningPorts(procNet)
	for _, p := range []int{9042, 9010, 8082} {
		if !got[p] {
			t.Errorf("port %d not seen listening in %v", p, got)
		}
	}
	if got[8030] || len(got) != 3 {
		t.Errorf("an established connection taken for a listener: %v", got)
	}
}

func TestTimestamp(t *testing.T) {
	ts := time.Date(2026, 11, 24, 1, 2, 3, 0, time.FixedZone("X", 3600))
	if got := timestamp(ts); got != "20261124T000203Z" {
		t.Fatalf("Timestamp = %s", got)
	}
}
