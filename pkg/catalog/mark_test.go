package catalog

import (
	"context"
	"io"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
)

type sliceEntries struct {
	e   []backupset.Entry
	err error // returned after the entries
}

func (s *sliceEntries) Next() (backupset.Entry, error) {
	if len(s.e) == 0 {
		if s.err != nil {
			return backupset.Entry{}, s.err
		}
		return backupset.Entry{}, io.EOF
	}
	e := s.e[0]
	s.e = s.e[1:]
	return e, nil
}

func entries(keys ...string) *sliceEntries {
	s := &sliceEntries{}
	for _, k := range keys {
		key, ver, _ := strings.Cut(k, "@")
		s.e = append(s.e, backupset.Entry{Key: key, VersionID: ver})
	}
	return s
}

type sliceGroups struct{ g [][]version }

func (s *sliceGroups) next(context.Context) ([]version, error) {
	if len(s.g) == 0 {
		return nil, nil
	}
	g := s.g[0]
	s.g = s.g[1:]
	return g, nil
}

func TestMergedSources(t *testing.T) {
	m := mergeSources(entries("a", "c", "e"), entries(), entries("b", "c", "f"))
	var got []string
	for {
		e, err := m.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.Key)
	}
	if strings.Join(got, ",") != "a,b,c,c,e,f" {
		t.Fatalf("merged %v", got)
	}
}

func TestSweepUnversioned(t *testing.T) {
	old, cutoff, young := time.Unix(100, 0), time.Unix(200, 0), time.Unix(300, 0)
	data := &sliceGroups{g: [][]version{
		{{Key: "a", Modified: old, Latest: true}},   // marked
		{{Key: "b", Modified: old, Latest: true}},   // unmarked, old: deleted
		{{Key: "c", Modified: young, Latest: true}}, // unmarked, written since the cutoff: kept
		{{Key: "d", Modified: old, Latest: true}},   // marked by the second set only
		{{Key: "e", Modified: old, Latest: true}},   // unmarked, old: deleted
	}}
	var del []string
	n, err := sweep(context.Background(), data, mergeSources(entries("a", "d"), entries("a", "aa", "d", "zz")), false, cutoff,
		func(v version) { del = append(del, v.Key) })
	if err != nil || n != 5 || strings.Join(del, ",") != "b,e" {
		t.Fatalf("deleted %v (seen %d, %v)", del, n, err)
	}
}

func TestSweepVersioned(t *testing.T) {
	old, cutoff := time.Unix(100, 0), time.Unix(200, 0)
	data := &sliceGroups{g: [][]version{
		// x.meta rewritten twice: set 1 needs v1, nobody needs v2 or v3.
		{{Key: "x.meta", VersionID: "v3", Modified: old, Latest: true}, {Key: "x.meta", VersionID: "v2", Modified: old}, {Key: "x.meta", VersionID: "v1", Modified: old}},
		// y: deleted with a marker; set 2 needs its only version.
		{{Key: "y", VersionID: "m", Modified: old, Latest: true, DeleteMarker: true}, {Key: "y", VersionID: "y1", Modified: old}},
		// z: listed without a version id (written before versioning): its current version is kept.
		{{Key: "z", VersionID: "z2", Modified: old, Latest: true}, {Key: "z", VersionID: "z1", Modified: old}},
	}}
	var del []string
	_, err := sweep(context.Background(), data, mergeSources(entries("x.meta@v1", "z"), entries("y@y1")), true, cutoff,
		func(v version) { del = append(del, v.Key+"@"+v.VersionID) })
	sort.Strings(del)
	if err != nil || strings.Join(del, ",") != "x.meta@v2,x.meta@v3,y@m,z@z1" {
		t.Fatalf("deleted %v (%v)", del, err)
	}
}

// A listing that fails while it is read fails the sweep, even when the
// failure comes after the last data object.
func TestSweepFailsOnABadListing(t *testing.T) {
	boom := io.ErrUnexpectedEOF
	data := &sliceGroups{g: [][]version{{{Key: "a", Latest: true}}}}
	_, err := sweep(context.Background(), data, mergeSources(&sliceEntries{e: []backupset.Entry{{Key: "a"}, {Key: "b"}}, err: boom}), false, time.Unix(1, 0), func(version) {})
	if err != boom {
		t.Fatalf("sweep returned %v, want the listing's error", err)
	}
}

func TestCheckEntry(t *testing.T) {
	e := backupset.Entry{Key: "k", Size: 3, ETag: "aa", VersionID: "v1"}
	cases := []struct {
		group     []version
		versioned bool
		want      string
	}{
		{nil, false, "missing"},
		{[]version{{Key: "j"}}, false, "missing"},
		{[]version{{Key: "k", Size: 3, ETag: "aa", Latest: true}}, false, ""},
		{[]version{{Key: "k", Size: 3, ETag: "bb", Latest: true}}, false, "mismatched"},
		{[]version{{Key: "k", Size: 4, ETag: "aa", Latest: true}}, false, "mismatched"},
		{[]version{{Key: "k", VersionID: "v2", Size: 3, ETag: "bb", Latest: true}, {Key: "k", VersionID: "v1", Size: 3, ETag: "aa"}}, true, ""},
		{[]version{{Key: "k", VersionID: "v2", Size: 3, ETag: "aa", Latest: true}}, true, "missing"},
		{[]version{{Key: "k", VersionID: "v1", DeleteMarker: true}}, true, "missing"},
	}
	for i, c := range cases {
		if got := checkEntry(e, c.group, c.versioned); got != c.want {
			t.Errorf("case %d: %q, want %q", i, got, c.want)
		}
	}
}
