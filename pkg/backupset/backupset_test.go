package backupset

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"
	"time"
)

func TestIDs(t *testing.T) {
	at := time.Date(2026, 11, 29, 1, 0, 0, 0, time.FixedZone("x", 3600))
	id := IDFor(at)
	if id != "2026-11-29T00-00-00Z" || CheckID(id) != nil || !IDTime(id).Equal(at) {
		t.Fatalf("IDFor = %q, IDTime = %v", id, IDTime(id))
	}
	for _, ok := range []string{"2026-11-29T00-00-00Z-manual", "2026-01-02T03-04-05Z.2"} {
		if err := CheckID(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "latest", "2026-11-29", "2026-13-29T00-00-00Z", "2026-11-29T00-00-00Z/x", "../2026-11-29T00-00-00Z", "2026-11-29T00-00-00Z-"} {
		if CheckID(bad) == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	l := NewLayout("")
	if l.Manifest(id) != "backups/"+id+"/manifest.json" || l.IDOf(l.Listing(id)) != id || l.IDOf("backups/x/y") != "" {
		t.Fatal("layout")
	}
	if ManifestBeside(l.Listing(id)) != l.Manifest(id) || NewLayout("/sets").Folder(id) != "sets/"+id+"/" {
		t.Fatal("layout paths")
	}
}

func writeListing(t *testing.T, h Header, keys ...string) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := NewWriter(&b, h)
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range keys {
		if err := w.Add(Entry{Key: k, Size: int64(i + 1), SourceETag: "s", ETag: "e"}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(time.Unix(100, 0)); err != nil {
		t.Fatal(err)
	}
	if n, sum := w.Sum(); n != int64(b.Len()) || len(sum) != 64 {
		t.Fatalf("Sum %d %s, wrote %d", n, sum, b.Len())
	}
	return b.Bytes()
}

func TestListingRoundTrip(t *testing.T) {
	data := writeListing(t, Header{Source: "s3://a/", Target: "s3://b/data/", Versioned: true}, "a", "a/b", "b\nnewline", "z")
	var got []string
	sum, err := ReadAll(bytes.NewReader(data), "l", func(e Entry) error { got = append(got, e.Key); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(got, "|") != "a|a/b|b\nnewline|z" || sum.Trailer.Objects != 4 || sum.Trailer.Bytes != 10 || !sum.Header.Versioned {
		t.Fatalf("read back %q %+v", got, sum)
	}
	if sum.Size != int64(len(data)) || sum.Trailer.DoneAt.Unix() != 100 {
		t.Fatalf("summary %+v", sum)
	}
}

func TestListingRejectsDamage(t *testing.T) {
	good := writeListing(t, Header{}, "a", "b", "c")
	// Recompress the text with a line removed, reordered, or cut.
	text := func(b []byte) string {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out, _ := io.ReadAll(zr)
		return string(out)
	}
	gz := func(s string) []byte {
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		zw.Write([]byte(s))
		zw.Close()
		return b.Bytes()
	}
	lines := strings.SplitAfter(text(good), "\n")
	cases := map[string][]byte{
		"truncated compressed bytes": good[:len(good)-12],
		"no trailer":                 gz(strings.Join(lines[:4], "")),
		"entry removed":              gz(lines[0] + lines[1] + lines[3] + lines[4]),
		"out of order":               gz(lines[0] + lines[2] + lines[1] + lines[3] + lines[4]),
		"after trailer":              gz(strings.Join(lines, "") + lines[1]),
		"not gzip":                   []byte("{}"),
		"no header":                  gz(""),
	}
	for name, b := range cases {
		if _, err := ReadAll(bytes.NewReader(b), "l", nil); !errors.Is(err, ErrBadListing) {
			t.Errorf("%s: %v, want ErrBadListing", name, err)
		}
	}
	w, _ := NewWriter(io.Discard, Header{RangeStart: "b", RangeEnd: "d"})
	if w.Add(Entry{Key: "a"}) == nil || w.Add(Entry{Key: "d"}) == nil || w.Add(Entry{Key: "c"}) != nil || w.Add(Entry{Key: "b"}) == nil {
		t.Fatal("the writer accepted a key out of range or out of order")
	}
}

func TestManifestAndTiling(t *testing.T) {
	m := &Manifest{Format: ManifestFormat, ID: "2026-11-29T00-00-00Z", Archive: ArchiveFacts{Key: "k", SHA256: strings.Repeat("a", 64)},
		Listings: []ListingRef{{Key: "l2", RangeStart: "m"}, {Key: "l1", RangeEnd: "m"}}, VacuumGrace: Duration(30 * time.Minute)}
	b, err := m.Encode()
	if err != nil {
		t.Fatal(err)
	}
	back, err := DecodeManifest(b, "m")
	if err != nil || time.Duration(back.VacuumGrace) != 30*time.Minute || !bytes.Contains(b, []byte(`"30m0s"`)) {
		t.Fatalf("round trip: %v %s", err, b)
	}
	bad := map[string][]ListingRef{
		"gap":       {{Key: "a", RangeEnd: "m"}, {Key: "b", RangeStart: "n"}},
		"overlap":   {{Key: "a", RangeEnd: "n"}, {Key: "b", RangeStart: "m"}},
		"no start":  {{Key: "a", RangeStart: "b"}},
		"bounded":   {{Key: "a", RangeEnd: "z"}},
		"two whole": {{Key: "a"}, {Key: "b"}},
		"none":      nil,
	}
	for name, refs := range bad {
		m.Listings = refs
		if _, err := m.Encode(); err != nil {
			t.Fatal(err)
		}
		if m.Check() == nil {
			t.Errorf("%s: accepted", name)
		}
	}
	if _, err := DecodeManifest([]byte(`{"manifest_format":1}`), "m"); !errors.Is(err, ErrBadManifest) {
		t.Fatalf("empty manifest: %v", err)
	}
}

func TestConsistent(t *testing.T) {
	a := time.Date(2026, 11, 29, 1, 0, 0, 0, time.UTC)
	g := 30 * time.Minute
	for _, c := range []struct {
		done time.Time
		want bool
	}{{a.Add(29 * time.Minute), true}, {a.Add(g), true}, {a.Add(g + time.Second), false}, {a.Add(-time.Second), false}, {time.Time{}, false}} {
		if Consistent(a, c.done, g) != c.want {
			t.Errorf("done %v: want %v", c.done, c.want)
		}
	}
	if Consistent(a, a, 0) {
		t.Error("zero grace")
	}
}

func TestPolicy(t *testing.T) {
	day := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	var sets []Candidate
	for d := 1; d <= 20; d++ {
		sets = append(sets, Candidate{ID: IDFor(day(d, 1)), Time: day(d, 1), Consistent: true})
		sets = append(sets, Candidate{ID: IDFor(day(d, 13)), Time: day(d, 13), Consistent: d != 20})
	}
	kept := func(p Policy) []string {
		var out []string
		for id, why := range p.Apply(sets) {
			if why != "" {
				out = append(out, id)
			}
		}
		return out
	}
	// Nothing set: the newest, and the newest consistent.
	if got := kept(Policy{}); len(got) != 2 {
		t.Fatalf("empty policy kept %v", got)
	}
	why := Policy{Last: 3}.Apply(sets)
	if why[IDFor(day(20, 13))] != "last" || why[IDFor(day(20, 1))] != "last" || why[IDFor(day(19, 13))] != "last" || why[IDFor(day(19, 1))] != "" {
		t.Fatalf("keep-last: %v", why)
	}
	// Daily 3: day 20 keeps its consistent 01:00 set over the newer inconsistent one.
	why = Policy{Daily: 3}.Apply(sets)
	if why[IDFor(day(20, 1))] == "" || why[IDFor(day(19, 13))] != "daily" || why[IDFor(day(18, 13))] != "daily" || why[IDFor(day(17, 13))] != "" {
		t.Fatalf("keep-daily: %v", why)
	}
	if why[IDFor(day(20, 13))] != "newest" {
		t.Fatalf("the newest set must always be kept: %v", why)
	}
	// Weekly 2 over 20 days: the newest of two ISO weeks.
	if n := len(kept(Policy{Weekly: 2})); n != 3 {
		t.Fatalf("keep-weekly kept %d", n)
	}
	if (Policy{Monthly: -1}).Check() == nil {
		t.Fatal("negative count accepted")
	}
}
