package mirror

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

func TestParseLocation(t *testing.T) {
	for _, tc := range []struct {
		in, bucket, prefix string
	}{
		{"bkt", "bkt", ""},
		{"bkt/", "bkt", ""},
		{"s3://bkt", "bkt", ""},
		{"S3://bkt/a", "bkt", "a/"},
		{"bkt/starrocks", "bkt", "starrocks/"},
		{"bkt/starrocks/", "bkt", "starrocks/"},
		{"s3://my.bucket-1/a b/c+d%;é/", "my.bucket-1", "a b/c+d%;é/"},
	} {
		l, err := ParseLocation("source", tc.in)
		if err != nil || l.Bucket != tc.bucket || l.Prefix != tc.prefix {
			t.Errorf("ParseLocation(%q) = %+v, %v; want %s %q", tc.in, l, err, tc.bucket, tc.prefix)
		}
	}
	for _, in := range []string{"", "s3://", "gs://bkt/a", "Bkt/a", "b/a", "bkt_x/a", "-bkt/a", "bkt//a", "192.168.1.1/a", "bkt/a\xff"} {
		if _, err := ParseLocation("target", in); err == nil || !usage.Is(err) {
			t.Errorf("ParseLocation(%q): %v, want a usage error", in, err)
		} else if !strings.Contains(err.Error(), "--target") {
			t.Errorf("ParseLocation(%q): error %q does not name the flag", in, err)
		}
	}
	l := Location{Bucket: "b", Prefix: "p/"}
	if l.String() != "s3://b/p/" || l.URL("x y") != "s3://b/p/x y" || l.Key("k") != "p/k" {
		t.Errorf("location strings: %s %s %s", l, l.URL("x y"), l.Key("k"))
	}
}

func TestOverlaps(t *testing.T) {
	loc := func(b, p string) Location { return Location{Bucket: b, Prefix: p} }
	for _, tc := range []struct {
		a, b Location
		want bool
	}{
		{loc("b", ""), loc("b", ""), true},
		{loc("b", "a/"), loc("b", "a/"), true},
		{loc("b", "a/"), loc("b", "a/b/"), true},
		{loc("b", ""), loc("b", "x/"), true},
		{loc("b", "a/"), loc("b", "ab/"), false},
		{loc("b", "a/"), loc("b", "b/"), false},
		{loc("b", "a/"), loc("c", "a/"), false},
	} {
		if got := overlaps(tc.a, tc.b); got != tc.want || overlaps(tc.b, tc.a) != tc.want {
			t.Errorf("overlaps(%v, %v) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}

func TestExcludes(t *testing.T) {
	for _, tc := range []struct {
		pattern string
		match   []string
		miss    []string
	}{
		{"*.lock", []string{"a.lock", ".lock"}, []string{"d/a.lock", "a.lock2", "alock"}},
		{"**/*.lock", []string{"a.lock", "d/a.lock", "d/e/f.lock"}, []string{"d/a.locks", "lock"}},
		{"tmp/**", []string{"tmp/a", "tmp/a/b"}, []string{"tmp", "x/tmp/a", "tmpx/a"}},
		{"*/db10043/**", []string{"svc/db10043/1/2.dat"}, []string{"db10043/1", "a/b/db10043/x", "svc/db100430/x"}},
		{"data/?.dat", []string{"data/a.dat"}, []string{"data/ab.dat", "data//.dat"}},
		{"[ab]*.dat", []string{"a.dat", "bz.dat"}, []string{"c.dat", "A.dat"}},
		{"[!ab]*", []string{"c", "z/"[:1]}, []string{"a", "b", "/x"}},
		{"[a-c]x", []string{"bx"}, []string{"dx"}},
		{`\*.dat`, []string{"*.dat"}, []string{"a.dat"}},
		{"a+b (1).dat", []string{"a+b (1).dat"}, []string{"aab (1).dat", "a+b 1.dat"}},
		{"日本/*", []string{"日本/x"}, []string{"日本x"}},
		{"[é]x", []string{"éx"}, []string{"ex"}},
		{"GC.json", []string{"GC.json"}, []string{"gc.json", "x/GC.json", "GCxjson"}},
		// Keys may hold newlines: wildcards match them like any character.
		{"**/*.lock", []string{"d\ne/f.lock", "a\n.lock", "\n/x.lock"}, []string{"a.lock\n"}},
		{"tmp/**", []string{"tmp/a\nb", "tmp/\n"}, []string{"tmp\n/a"}},
		{"*", []string{"a\nb", "\n"}, []string{"a\n/b"}},
		{"a?b", []string{"a\nb"}, []string{"a\n\nb"}},
	} {
		x, err := CompileExcludes([]string{tc.pattern})
		if err != nil {
			t.Fatalf("%q: %v", tc.pattern, err)
		}
		for _, k := range tc.match {
			if !x.Match(k) {
				t.Errorf("%q does not match %q", tc.pattern, k)
			}
		}
		for _, k := range tc.miss {
			if x.Match(k) {
				t.Errorf("%q matches %q", tc.pattern, k)
			}
		}
	}
	x, _ := CompileExcludes([]string{"a/*", "**/*.tmp"})
	if !x.Match("a/b") || !x.Match("c/d.tmp") || x.Match("c/d") {
		t.Error("several patterns: any one must match")
	}
	var none *Excludes
	if none.Match("x") {
		t.Error("nil excludes match")
	}
	if x, _ := CompileExcludes(nil); x.Match("") || x.Match("a") {
		t.Error("no pattern matches")
	}
	for _, bad := range []string{"", "[abc", `a\`, "[]", "[z-a]"} {
		if _, err := CompileExcludes([]string{bad}); err == nil || !usage.Is(err) {
			t.Errorf("pattern %q: %v, want a usage error", bad, err)
		}
	}
}

const (
	md5a = "0cc175b9c0f1b6a831c399e269772661"
	md5b = "92eb5ffee6ae2fec3ad71c777531578f"
	mpA  = "d7f0e9878e982a33237d7f6f946e7951-2"
	mpB  = "a2a6c4e4ef2f5c4a9e3b3c1c39fa8a55-2"
)

func TestDecide(t *testing.T) {
	e := func(size int64, etag string) Entry { return Entry{Key: "k", Size: size, ETag: etag} }
	withMeta := func(x Entry, rec string) *Entry { x.MetaKnown, x.Recorded = true, rec; return &x }
	noMeta := func(x Entry) *Entry { return &x }
	headed := func(x Entry, rec string, opaque bool) *Entry {
		x.MetaKnown, x.Recorded, x.Headed, x.OpaqueETag = true, rec, true, opaque
		return &x
	}
	headedSrc := func(x Entry, opaque bool) Entry { x.Headed, x.OpaqueETag = true, opaque; return x }
	for _, tc := range []struct {
		name   string
		src    Entry
		dst    *Entry
		act    Action
		reason string
	}{
		{"missing", e(1, md5a), nil, Copy, ReasonMissing},
		{"size differs", e(1, md5a), withMeta(e(2, md5a), md5a), Copy, ReasonSize},
		{"size differs, metadata unknown", e(1, md5a), noMeta(e(2, md5a)), Copy, ReasonSize},
		{"same md5", e(1, md5a), noMeta(e(1, md5a)), Skip, ""},
		{"same md5, stale record", e(1, md5a), withMeta(e(1, md5a), md5b), Skip, ""},
		{"same-size change, md5s", e(1, md5b), withMeta(e(1, md5a), ""), Copy, ReasonChanged},
		{"same-size change, recorded", e(1, md5b), withMeta(e(1, md5a), md5a), Copy, ReasonChanged},
		{"multipart, recorded", e(9, mpA), withMeta(e(9, mpB), mpA), Skip, ""},
		{"multipart changed, same size", e(9, mpB), withMeta(e(9, "x-3"), mpA), Copy, ReasonChanged},
		{"multipart, no record", e(9, mpA), withMeta(e(9, mpA), ""), Copy, ReasonUnknown},
		{"md5 source, multipart target copied by us", e(9, md5a), withMeta(e(9, mpB), md5a), Skip, ""},
		// md5-like ETags that differ, a record that matches: a tampered
		// target carrying a copied record, or an encrypted side whose
		// ETag is no MD5. HEADs (target, then source) tell.
		{"md5s differ, record matches, listed: check", e(1, md5a), withMeta(e(1, md5b), md5a), Check, ""},
		{"md5s differ, record matches, target headed: check the source", e(1, md5a), headed(e(1, md5b), md5a, false), Check, ""},
		{"tampered target (headed both, not encrypted)", headedSrc(e(1, md5a), false), headed(e(1, md5b), md5a, false), Copy, ReasonChanged},
		{"encrypted target (etag not the md5), recorded", e(1, md5a), headed(e(1, md5b), md5a, true), Skip, ""},
		{"encrypted source (etag not the md5), recorded", headedSrc(e(1, md5a), true), headed(e(1, md5b), md5a, false), Skip, ""},
		{"encrypted target, record of another version", e(1, md5a), headed(e(1, md5b), md5b, true), Copy, ReasonChanged},
		{"md5s differ, metadata unknown: check", e(1, md5a), noMeta(e(1, md5b)), Check, ""},
		{"multipart, metadata unknown: check", e(9, mpA), noMeta(e(9, mpA)), Check, ""},
		{"empty objects", e(0, "d41d8cd98f00b204e9800998ecf8427e"), noMeta(e(0, "d41d8cd98f00b204e9800998ecf8427e")), Skip, ""},
	} {
		act, reason := Decide(tc.src, tc.dst)
		if act != tc.act || reason != tc.reason {
			t.Errorf("%s: %v %q, want %v %q", tc.name, act, reason, tc.act, tc.reason)
		}
	}
	// Modification times play no part.
	s, d := e(1, md5a), e(1, md5a)
	d.Modified = s.Modified.Add(-1e12)
	if act, _ := Decide(s, &d); act != Skip {
		t.Error("an older target with the same content is copied")
	}
}

func TestETagHelpers(t *testing.T) {
	if NormalizeETag(` "0CC175B9C0F1B6A831C399E269772661" `) != md5a {
		t.Error("NormalizeETag")
	}
	for etag, want := range map[string]bool{md5a: true, mpA: false, "": false, "0cc175b9c0f1b6a831c399e26977266g": false, md5a + "0": false} {
		if plainMD5(etag) != want {
			t.Errorf("plainMD5(%q) != %v", etag, want)
		}
	}
	for _, meta := range []map[string]string{
		{"Srb-Source-Etag": `"` + md5a + `"`}, {"X-Amz-Meta-Srb-Source-Etag": md5a}, {"srb-source-etag": md5a, "other": "x"},
	} {
		if recorded(meta) != md5a {
			t.Errorf("recorded(%v) = %q", meta, recorded(meta))
		}
	}
	if recorded(map[string]string{"content-type": "x"}) != "" || recorded(nil) != "" {
		t.Error("recorded without a record")
	}
}

func TestPutOptions(t *testing.T) {
	info := minio.ObjectInfo{
		ContentType:  "application/json",
		UserMetadata: map[string]string{"Owner": "sr", "Srb-Source-Etag": "from-an-earlier-hop"},
		Metadata:     map[string][]string{"Cache-Control": {"max-age=60"}, "Content-Encoding": {"gzip"}},
	}
	o := putOptions(info, md5a)
	if o.ContentType != "application/json" || o.CacheControl != "max-age=60" || o.ContentEncoding != "gzip" {
		t.Errorf("standard headers: %+v", o)
	}
	if len(o.UserMetadata) != 2 || o.UserMetadata["Owner"] != "sr" || o.UserMetadata[MetaSourceETag] != md5a {
		t.Errorf("user metadata: %v", o.UserMetadata)
	}
}

func TestPartSizeFor(t *testing.T) {
	for _, tc := range []struct{ size, base, want int64 }{
		{100 << 20, 16 << 20, 16 << 20},
		{16 << 20 * maxParts, 16 << 20, 16 << 20},
		{16<<20*maxParts + 1, 16 << 20, 17 << 20},
		{5 << 40, 16 << 20, 525 << 20},
	} {
		got := partSizeFor(tc.size, tc.base)
		if got != tc.want || (tc.size+got-1)/got > maxParts {
			t.Errorf("partSizeFor(%d, %d) = %d, want %d", tc.size, tc.base, got, tc.want)
		}
	}
}

func TestRetryableAndFatal(t *testing.T) {
	explained := func(code string, status int) error {
		return s3conf.Explain(minio.ErrorResponse{Code: code, StatusCode: status}, "x")
	}
	for _, tc := range []struct {
		err              error
		retryable, fatal bool
	}{
		{explained("InternalError", 500), true, false},
		{explained("SlowDown", 503), true, false},
		{explained("PreconditionFailed", 412), true, false},
		{explained("NoSuchKey", 404), false, false},
		{explained("NoSuchBucket", 404), false, true},
		{explained("AccessDenied", 403), false, true},
		{explained("SignatureDoesNotMatch", 403), false, true},
		{context.Canceled, false, false},
		{fmt.Errorf("wrapped: %w", context.DeadlineExceeded), false, true}, // a timeout: s3conf calls it unreachable
	} {
		if s3conf.Retryable(tc.err) != tc.retryable || fatal(tc.err) != tc.fatal {
			t.Errorf("%v: retryable %v fatal %v, want %v %v", tc.err, s3conf.Retryable(tc.err), fatal(tc.err), tc.retryable, tc.fatal)
		}
	}
}

// feed sends entries as pages of n, then closes (a complete listing) or
// sends err.
func feed(entries []Entry, n int, err error) <-chan page {
	ch := make(chan page, len(entries)/max(n, 1)+2)
	for i := 0; i < len(entries); i += n {
		ch <- page{entries: append([]Entry(nil), entries[i:min(i+n, len(entries))]...)}
	}
	if err != nil {
		ch <- page{err: err}
	} else {
		close(ch)
	}
	return ch
}

func entries(keys ...string) []Entry {
	var out []Entry
	for _, k := range keys {
		out = append(out, Entry{Key: k})
	}
	return out
}

func mergeKeys(t *testing.T, ctx context.Context, src, dst <-chan page) (string, error) {
	t.Helper()
	var b strings.Builder
	err := merge(ctx, newCursor("source", src), newCursor("target", dst), func(s, d *Entry) error {
		switch {
		case s != nil && d != nil:
			if s.Key != d.Key {
				t.Fatalf("pair %q %q", s.Key, d.Key)
			}
			b.WriteString("=" + s.Key + " ")
		case s != nil:
			b.WriteString("+" + s.Key + " ")
		default:
			b.WriteString("-" + d.Key + " ")
		}
		return nil
	})
	return strings.TrimSpace(b.String()), err
}

func TestMerge(t *testing.T) {
	ctx := context.Background()
	src := entries("a", "a b", "a+b", "a/b", "b", "d", "é", "日本")
	dst := entries("a", "a/b", "c", "d", "z", "é")
	for _, n := range []int{1, 2, 3, 100} {
		got, err := mergeKeys(t, ctx, feed(src, n, nil), feed(dst, n, nil))
		want := "=a +a b +a+b =a/b +b -c =d -z =é +日本"
		if err != nil || got != want {
			t.Errorf("pages of %d: %q, %v; want %q", n, got, err, want)
		}
	}
	if got, err := mergeKeys(t, ctx, feed(nil, 1, nil), feed(entries("x", "y"), 1, nil)); err != nil || got != "-x -y" {
		t.Errorf("empty source: %q %v", got, err)
	}
	if got, err := mergeKeys(t, ctx, feed(entries("x"), 1, nil), feed(nil, 1, nil)); err != nil || got != "+x" {
		t.Errorf("empty target: %q %v", got, err)
	}
}

func TestMergeFailures(t *testing.T) {
	ctx := context.Background()
	boom := errors.New("list target: boom")
	// A listing error is an error, never the end of the listing.
	if _, err := mergeKeys(t, ctx, feed(entries("a", "b", "c"), 1, nil), feed(entries("a"), 1, boom)); !errors.Is(err, boom) {
		t.Errorf("target error: %v", err)
	}
	if _, err := mergeKeys(t, ctx, feed(entries("a"), 1, boom), feed(entries("a", "b"), 1, nil)); !errors.Is(err, boom) {
		t.Errorf("source error: %v", err)
	}
	// Unsorted or repeated keys stop the merge.
	for _, keys := range [][]string{{"b", "a"}, {"a", "a"}} {
		_, err := mergeKeys(t, ctx, feed(entries(keys...), 1, nil), feed(nil, 1, nil))
		if err == nil || !strings.Contains(err.Error(), "not in key order") {
			t.Errorf("keys %q: %v", keys, err)
		}
	}
	// A listing that has not finished when the context ends is not complete.
	ctx2, cancel := context.WithCancel(ctx)
	open := make(chan page, 1)
	open <- page{entries: entries("a")}
	done := make(chan error, 1)
	go func() {
		_, err := mergeKeys(t, ctx2, open, feed(nil, 1, nil))
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled merge: %v", err)
	}
	// emit's error stops the merge.
	stop := errors.New("stop")
	err := merge(ctx, newCursor("source", feed(entries("a", "b"), 1, nil)), newCursor("target", feed(nil, 1, nil)),
		func(s, d *Entry) error { return stop })
	if !errors.Is(err, stop) {
		t.Errorf("emit error: %v", err)
	}
}

// The deletion candidates never hold more than MaxDelete keys: past it the
// run will refuse to delete, and the keys are dropped.
func TestDeleteCandidatesBounded(t *testing.T) {
	x, _ := CompileExcludes([]string{"**/*.lock"})
	r := &run{plan: &plan{o: Options{Remove: true, MaxDelete: 3}, excl: x}}
	jobs := make(chan job, 10)
	ctx := context.Background()
	for i := range 3 {
		if err := r.decide(ctx, &r.t, copyPass{r}, nil, jobs, nil, &Entry{Key: fmt.Sprintf("only-%d", i)}); err != nil {
			t.Fatal(err)
		}
	}
	_ = r.decide(ctx, &r.t, copyPass{r}, nil, jobs, nil, &Entry{Key: "x.lock"})
	if len(r.candidates) != 3 || r.t.targetOnly.Load() != 3 {
		t.Fatalf("candidates %v, target-only %d", r.candidates, r.t.targetOnly.Load())
	}
	for i := 3; i < 1001; i++ {
		_ = r.decide(ctx, &r.t, copyPass{r}, nil, jobs, nil, &Entry{Key: fmt.Sprintf("only-%d", i)})
	}
	if r.candidates != nil || r.t.targetOnly.Load() != 1001 {
		t.Fatalf("over the limit: %d candidates kept, target-only %d", len(r.candidates), r.t.targetOnly.Load())
	}
	if err := r.remove(ctx); err == nil || !strings.Contains(err.Error(), "nothing deleted") {
		t.Fatalf("remove over the limit: %v", err)
	}
	if len(jobs) != 0 {
		t.Fatal("target-only objects made copy jobs")
	}
	// Source objects become jobs or skips, excluded ones neither.
	_ = r.decide(ctx, &r.t, copyPass{r}, nil, jobs, &Entry{Key: "new", Size: 1, ETag: md5a}, nil)
	_ = r.decide(ctx, &r.t, copyPass{r}, nil, jobs, &Entry{Key: "same", Size: 1, ETag: md5a}, &Entry{Key: "same", Size: 1, ETag: md5a})
	_ = r.decide(ctx, &r.t, copyPass{r}, nil, jobs, &Entry{Key: "a.lock", Size: 1, ETag: md5a}, nil)
	if len(jobs) != 1 || r.t.skipped.Load() != 1 || r.t.excluded.Load() != 1 || r.t.listed.Load() != 3 {
		t.Fatalf("jobs %d skipped %d excluded %d listed %d", len(jobs), r.t.skipped.Load(), r.t.excluded.Load(), r.t.listed.Load())
	}
	if j := <-jobs; j.src.Key != "new" || j.act != Copy || j.reason != ReasonMissing {
		t.Fatalf("job %+v", j)
	}
}

func TestValidate(t *testing.T) {
	base := func() Options {
		return Options{SourcePath: "src/p", TargetPath: "dst/p", Workers: DefaultWorkers, ListWorkers: DefaultListWorkers, PartWorkers: DefaultPartWorkers,
			Source: s3conf.Input{Endpoint: "http://127.0.0.1:9000", Getenv: func(string) string { return "" }},
			Target: s3conf.Input{Endpoint: "http://127.0.0.1:9001", Getenv: func(string) string { return "" }}}
	}
	p, err := validate(base())
	if err != nil || p.workers != DefaultWorkers || p.serverSide || !p.metadataListing {
		t.Fatalf("%+v %v", p, err)
	}
	same := base()
	same.Target.Endpoint = same.Source.Endpoint
	if p, err := validate(same); err != nil || !p.serverSide {
		t.Fatalf("same endpoint and credentials: server side %v, %v", p != nil && p.serverSide, err)
	}
	same.TargetPath = "src/p/q"
	if _, err := validate(same); err == nil || !usage.Is(err) || !strings.Contains(err.Error(), "overlap") {
		t.Fatalf("overlap: %v", err)
	}
	// The same bucket name on two servers is not an overlap.
	other := base()
	other.TargetPath = "src/p"
	if _, err := validate(other); err != nil {
		t.Fatalf("same bucket, other server: %v", err)
	}
	for name, mod := range map[string]func(*Options){
		"workers":  func(o *Options) { o.Workers = -1 },
		"workers0": func(o *Options) { o.Workers = 0 },
		"workers+": func(o *Options) { o.Workers = maxWorkers + 1 },
		"retries":  func(o *Options) { o.Retries = -1 },
		"delete":   func(o *Options) { o.MaxDelete = -1 },
		"progress": func(o *Options) { o.ProgressInterval = -1 },
		"exclude":  func(o *Options) { o.Excludes = []string{"[x"} },
		"endpoint": func(o *Options) { o.Target.Endpoint = "ftp://x" },
		"verify":   func(o *Options) { o.Verify, o.DryRun = true, true },
		"lw-":      func(o *Options) { o.ListWorkers = -1 },
		"lw0":      func(o *Options) { o.ListWorkers = 0 },
		"pw0":      func(o *Options) { o.PartWorkers = 0 },
		"pw+":      func(o *Options) { o.PartWorkers = maxPartWorkers + 1 },
		"lw+":      func(o *Options) { o.ListWorkers = maxListWorkers + 1 },
		"plan-":    func(o *Options) { o.Plan = -1 },
		"plan+":    func(o *Options) { o.Plan = maxPlan + 1 },
		"range":    func(o *Options) { o.KeyRange = "a.b..c" },
		"range<":   func(o *Options) { o.KeyRange = "b..a" },
	} {
		o := base()
		mod(&o)
		if _, err := validate(o); err == nil || !usage.Is(err) {
			t.Errorf("%s: %v, want a usage error", name, err)
		}
	}
}
