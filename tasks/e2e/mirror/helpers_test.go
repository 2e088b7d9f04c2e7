//go:build e2e

package mirror_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"math/rand/v2"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// side is one end of a mirror run: a server (reached at endpoint, the
// server's own or a proxy's) and its credentials.
type side struct {
	m        testbed.S3Server
	endpoint string
}

func direct(m testbed.S3Server) side { return side{m: m, endpoint: m.Endpoint()} }

// env gives the task both endpoints and their credentials the documented way.
func env(src, dst side) []string {
	sa, ss := src.m.Keys()
	da, ds := dst.m.Keys()
	return []string{
		"SRB_SOURCE_ENDPOINT=" + src.endpoint, "SRB_SOURCE_ACCESS_KEY=" + sa, "SRB_SOURCE_SECRET_KEY=" + ss,
		"SRB_TARGET_ENDPOINT=" + dst.endpoint, "SRB_TARGET_ACCESS_KEY=" + da, "SRB_TARGET_SECRET_KEY=" + ds,
	}
}

func secretOf(m testbed.S3Server) string {
	_, s := m.Keys()
	return s
}

// mirror runs the task from src to dst with args and checks the output
// contract; secrets must not show.
func mirrorRun(t *testing.T, src, dst side, args ...string) testbed.Result {
	t.Helper()
	return testbed.Task(t, "mirror", args...).Env(env(src, dst)...).Secrets(secretOf(src.m), secretOf(dst.m)).Run()
}

// obj is an object to create.
type obj struct {
	data        []byte
	contentType string
	cacheCtl    string
	encoding    string // Content-Encoding
	meta        map[string]string
	partSize    uint64 // > 0: upload in parts of this size (a multipart ETag)
}

func randBytes(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i+8 <= n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	for i := n - n%8; i < n; i++ {
		b[i] = byte(r.Uint32())
	}
	return b
}

func bucket(t *testing.T, m testbed.S3Server, name string) {
	t.Helper()
	if err := m.Client().MakeBucket(context.Background(), name, minio.MakeBucketOptions{}); err != nil {
		t.Fatalf("make bucket %s: %v", name, err)
	}
}

// put creates the objects under prefix, 16 at a time.
func put(t *testing.T, m testbed.S3Server, bkt, prefix string, objs map[string]obj) {
	t.Helper()
	c := m.Client()
	type item struct {
		k string
		o obj
	}
	ch := make(chan item)
	errs := make(chan error, len(objs))
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				opts := minio.PutObjectOptions{ContentType: it.o.contentType, CacheControl: it.o.cacheCtl, ContentEncoding: it.o.encoding,
					UserMetadata: it.o.meta, PartSize: it.o.partSize}
				if it.o.partSize == 0 {
					opts.DisableMultipart = true
				}
				if _, err := c.PutObject(context.Background(), bkt, prefix+it.k, bytes.NewReader(it.o.data), int64(len(it.o.data)), opts); err != nil {
					errs <- fmt.Errorf("put %s: %w", prefix+it.k, err)
				}
			}
		}()
	}
	for k, o := range objs {
		ch <- item{k, o}
	}
	close(ch)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// stored is an object as a test sees it.
type stored struct {
	size        int64
	sha         string
	etag        string
	contentType string
	cacheCtl    string
	encoding    string            // Content-Encoding, without the aws-chunked versitygw keeps
	meta        map[string]string // user metadata, keys lower-case, without mirror's record
	record      string            // mirror's recorded source ETag
}

// snapshot reads every object under prefix (bytes included), keyed by the
// key relative to prefix.
func snapshot(t *testing.T, m testbed.S3Server, bkt, prefix string) map[string]stored {
	t.Helper()
	c := m.Client()
	ctx := context.Background()
	var keys []string
	for o := range c.ListObjectsIter(ctx, bkt, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			t.Fatalf("list %s/%s: %v", bkt, prefix, o.Err)
		}
		keys = append(keys, o.Key)
	}
	out := make(map[string]stored, len(keys))
	var mu sync.Mutex
	var wg sync.WaitGroup
	ch := make(chan string)
	errs := make(chan error, len(keys))
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for k := range ch {
				o, err := c.GetObject(ctx, bkt, k, minio.GetObjectOptions{})
				if err != nil {
					errs <- err
					continue
				}
				h := sha256.New()
				n, err := io.Copy(h, o)
				st, serr := o.Stat()
				o.Close()
				if err != nil || serr != nil {
					errs <- fmt.Errorf("get %s: %v %v", k, err, serr)
					continue
				}
				s := stored{size: n, sha: hex.EncodeToString(h.Sum(nil)), etag: st.ETag, contentType: st.ContentType,
					cacheCtl: st.Metadata.Get("Cache-Control"), meta: map[string]string{},
					// versitygw keeps how the body was sent in the header
					encoding: strings.TrimPrefix(strings.TrimPrefix(st.Metadata.Get("Content-Encoding"), "aws-chunked"), ",")}
				for mk, mv := range st.UserMetadata {
					if strings.EqualFold(mk, "Srb-Source-Etag") {
						s.record = mv
						continue
					}
					s.meta[strings.ToLower(mk)] = mv
				}
				mu.Lock()
				out[strings.TrimPrefix(k, prefix)] = s
				mu.Unlock()
			}
		}()
	}
	for _, k := range keys {
		ch <- k
	}
	close(ch)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	return out
}

// sameTree fails unless got holds exactly want's keys with the same bytes,
// content type, cache control and user metadata.
func sameTree(t *testing.T, want, got map[string]stored) {
	t.Helper()
	var missing, extra, differ []string
	for k, w := range want {
		g, ok := got[k]
		switch {
		case !ok:
			missing = append(missing, k)
		case g.size != w.size || g.sha != w.sha:
			differ = append(differ, k+" (bytes)")
		case g.contentType != w.contentType || g.cacheCtl != w.cacheCtl || g.encoding != w.encoding:
			differ = append(differ, fmt.Sprintf("%s (content type %q/%q, cache control %q/%q, encoding %q/%q)",
				k, g.contentType, w.contentType, g.cacheCtl, w.cacheCtl, g.encoding, w.encoding))
		case fmt.Sprint(g.meta) != fmt.Sprint(w.meta):
			differ = append(differ, fmt.Sprintf("%s (metadata %v, want %v)", k, g.meta, w.meta))
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			extra = append(extra, k)
		}
	}
	sort.Strings(missing)
	sort.Strings(extra)
	sort.Strings(differ)
	if len(missing)+len(extra)+len(differ) > 0 {
		t.Fatalf("trees differ: %d missing %q, %d extra %q, %d different %q",
			len(missing), head(missing), len(extra), head(extra), len(differ), head(differ))
	}
}

func head(s []string) []string {
	if len(s) > 5 {
		return s[:5]
	}
	return s
}

// want fails unless the result's numeric fields have the given values.
func want(t *testing.T, r testbed.Result, fields map[string]int64) {
	t.Helper()
	var bad []string
	for k, v := range fields {
		if got, ok := r.Fields[k].(float64); !ok || int64(got) != v {
			bad = append(bad, fmt.Sprintf("%s=%v (want %d)", k, r.Fields[k], v))
		}
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		t.Fatalf("result fields %s\nresult: %s\nstderr:\n%s", strings.Join(bad, ", "), r.Line, tail(r.Stderr))
	}
}

func tail(s string) string {
	if len(s) > 3000 {
		return "..." + s[len(s)-3000:]
	}
	return s
}

func wantError(t *testing.T, r testbed.Result, code int, text string) {
	t.Helper()
	testbed.WantCode(t, r, code)
	if !strings.Contains(r.Str("error"), text) {
		t.Fatalf("error %q does not mention %q", r.Str("error"), text)
	}
}

func exists(t *testing.T, m testbed.S3Server, bkt, key string) bool {
	t.Helper()
	_, err := m.Client().StatObject(context.Background(), bkt, key, minio.StatObjectOptions{})
	if err != nil && minio.ToErrorResponse(err).Code != "NoSuchKey" {
		t.Fatalf("stat %s/%s: %v", bkt, key, err)
	}
	return err == nil
}

// starrocksTree is a small StarRocks-like tree with the awkward cases:
// keys holding spaces, +, %, ;, unicode, empty objects, typed objects with
// user metadata, and n small data files (n > 1,000 crosses a listing page).
func starrocksTree(n int) map[string]obj {
	svc := "1018bac0-5cd2-4b5c-9f7e-6ee7a48699d8/db10043/10058/10057/"
	objs := map[string]obj{
		svc + "meta/0000000000002755_0000000000000001.meta": {data: randBytes(1, 2048)},
		svc + "log/0000000000000001.log":                    {data: randBytes(2, 3000)},
		svc + "data/empty.dat":                              {data: []byte{}},
		"empty":                                             {data: nil},
		"sp ace/a b  c.dat":                                 {data: []byte("space")},
		"plus+sign/1+1=2.dat":                               {data: []byte("plus")},
		"per%cent/100%25.dat":                               {data: []byte("percent")},
		"semi;colon/a;b.dat":                                {data: []byte("semicolon")},
		"unicode/日本語/ключ-ü.dat":                            {data: []byte("unicode")},
		"odd/q?x=1&y=2#frag.dat":                            {data: []byte("query-like")},
		"odd/tilde~star*bang!quote'paren().dat":             {data: []byte("punctuation")},
		"typed/report.json": {data: []byte(`{"ok":true}`), contentType: "application/json", cacheCtl: "max-age=60",
			meta: map[string]string{"owner": "starrocks", "note": "kept as is"}},
		"typed/GC.json": {data: []byte(`{"gc":1}`), contentType: "application/json"},
	}
	for i := range n {
		objs[fmt.Sprintf("%sdata/%016x_%04d.dat", svc, i, i)] = obj{data: randBytes(uint64(100+i), 64+i%512)}
	}
	return objs
}
