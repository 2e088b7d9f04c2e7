package s3list

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// List follows continuation tokens to the end, and stops early on
// ErrStop; a server that never advances is an error, not a loop.
func TestListFollowsTokens(t *testing.T) {
	pages := map[string][]byte{
		"":   page(`<IsTruncated>true</IsTruncated><NextContinuationToken>t1</NextContinuationToken>`, keyEntry("a"), keyEntry("b")),
		"t1": page(`<IsTruncated>true</IsTruncated><NextContinuationToken>t2</NextContinuationToken>`, keyEntry("c")),
		"t2": page(`<IsTruncated>false</IsTruncated>`, keyEntry("d")),
		"t3": page(`<IsTruncated>true</IsTruncated><NextContinuationToken>t3</NextContinuationToken>`, keyEntry("e")),
		"t4": page(`<IsTruncated>true</IsTruncated>`, keyEntry("f")),
	}
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write(pages[r.URL.Query().Get("continuation-token")])
	})
	ctx := context.Background()
	var keys []string
	collect := func(p *Page) error {
		for _, o := range p.Objects {
			keys = append(keys, o.Key)
		}
		return nil
	}
	if err := c.List(ctx, Query{Bucket: "bkt"}, collect); err != nil || strings.Join(keys, ",") != "a,b,c,d" || len(f.requests()) != 3 {
		t.Fatalf("keys %v, %d requests, %v", keys, len(f.requests()), err)
	}
	keys = nil
	err := c.List(ctx, Query{Bucket: "bkt"}, func(p *Page) error {
		_ = collect(p)
		if len(keys) >= 3 {
			return ErrStop
		}
		return nil
	})
	if err != nil || strings.Join(keys, ",") != "a,b,c" || len(f.requests()) != 5 {
		t.Fatalf("stopped: keys %v, %d requests, %v", keys, len(f.requests()), err)
	}
	if err := c.List(ctx, Query{Bucket: "bkt", ContinuationToken: "t3"}, collect); err == nil || !strings.Contains(err.Error(), "would not progress") {
		t.Fatalf("repeated token: %v", err)
	}
	if err := c.List(ctx, Query{Bucket: "bkt", ContinuationToken: "t4"}, collect); err == nil || !strings.Contains(err.Error(), "without a continuation token") {
		t.Fatalf("truncated without a token: %v", err)
	}
	if err := c.List(ctx, Query{Bucket: "bkt"}, func(*Page) error { return io.ErrClosedPipe }); !errors.Is(err, io.ErrClosedPipe) {
		t.Fatalf("callback error: %v", err)
	}
}

// One client serves concurrent listings (parallel listing of prefixes):
// each gets its own pages, whole.
func TestConcurrentListings(t *testing.T) {
	_, c := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		prefix, tok := q.Get("prefix"), q.Get("continuation-token")
		var entries []string
		for i := range 50 {
			entries = append(entries, `<Key>`+prefix+tok+fmt.Sprintf("%03d", i)+`</Key><Size>1</Size><UserMetadata><X-Amz-Meta-P>`+prefix+`</X-Amz-Meta-P></UserMetadata>`)
		}
		extra := `<IsTruncated>false</IsTruncated>`
		if len(tok) < 3 {
			extra = `<IsTruncated>true</IsTruncated><NextContinuationToken>` + tok + `t</NextContinuationToken>`
		}
		_, _ = w.Write(page(extra, entries...))
	})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			prefix := fmt.Sprintf("p%d/", g)
			n := 0
			errs <- c.List(context.Background(), Query{Bucket: "bkt", Prefix: prefix, Metadata: true}, func(p *Page) error {
				for _, o := range p.Objects {
					if v, _ := o.Meta("p"); !strings.HasPrefix(o.Key, prefix) || v != prefix {
						return fmt.Errorf("listing %s got %q (%q)", prefix, o.Key, v)
					}
					n++
				}
				if !p.Truncated && n != 200 {
					return fmt.Errorf("listing %s: %d objects", prefix, n)
				}
				return nil
			})
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

// Versions follows key and version-id markers to the end; a truncated
// page without a next key marker, or markers that do not move, are errors.
func TestVersionsFollowMarkers(t *testing.T) {
	versions := func(extra, entries string) []byte {
		return []byte(`<ListVersionsResult><Name>bkt</Name>` + extra + entries + `</ListVersionsResult>`)
	}
	v := func(key, id string) string {
		return `<Version><Key>` + key + `</Key><VersionId>` + id + `</VersionId></Version>`
	}
	pages := map[string][]byte{
		"|":     versions(`<IsTruncated>true</IsTruncated><NextKeyMarker>a</NextKeyMarker><NextVersionIdMarker>2</NextVersionIdMarker>`, v("a", "3")+v("a", "2")),
		"a|2":   versions(`<IsTruncated>true</IsTruncated><NextKeyMarker>b</NextKeyMarker><NextVersionIdMarker>1</NextVersionIdMarker>`, v("a", "1")+v("b", "1")),
		"b|1":   versions(`<IsTruncated>false</IsTruncated>`, `<DeleteMarker><Key>c</Key><VersionId>9</VersionId><IsLatest>true</IsLatest></DeleteMarker>`),
		"same|": versions(`<IsTruncated>true</IsTruncated><NextKeyMarker>same</NextKeyMarker>`, v("same", "1")),
		"none|": versions(`<IsTruncated>true</IsTruncated>`, v("x", "1")),
	}
	_, c := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		_, _ = w.Write(pages[q.Get("key-marker")+"|"+q.Get("version-id-marker")])
	})
	ctx := context.Background()
	var got []string
	err := c.Versions(ctx, VersionsQuery{Bucket: "bkt"}, func(p *Page) error {
		for _, o := range p.Objects {
			got = append(got, fmt.Sprintf("%s@%s%v", o.Key, o.VersionID, o.DeleteMarker))
		}
		return nil
	})
	if err != nil || strings.Join(got, " ") != "a@3false a@2false a@1false b@1false c@9true" {
		t.Fatalf("%v %v", got, err)
	}
	if err := c.Versions(ctx, VersionsQuery{Bucket: "bkt", KeyMarker: "same"}, func(*Page) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "would not progress") {
		t.Fatalf("repeated markers: %v", err)
	}
	if err := c.Versions(ctx, VersionsQuery{Bucket: "bkt", KeyMarker: "none"}, func(*Page) error { return nil }); err == nil ||
		!strings.Contains(err.Error(), "without a next key marker") {
		t.Fatalf("no marker: %v", err)
	}
}
