//go:build e2e

package mirror

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/s3list"
	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func input(m *testbed.MinIO) s3conf.Input {
	return s3conf.Input{Endpoint: m.Endpoint(), CredEnv: "SRB_TEST", Getenv: func(k string) string {
		switch k {
		case "SRB_TEST_ACCESS_KEY":
			return m.AccessKey
		case "SRB_TEST_SECRET_KEY":
			return m.SecretKey
		}
		return ""
	}}
}

// makeBuckets creates the bucket on each server.
func makeBuckets(t *testing.T, name string, servers ...*testbed.MinIO) {
	t.Helper()
	for _, m := range servers {
		if err := m.MakeBucket(context.Background(), name, false); err != nil {
			t.Fatal(err)
		}
	}
}

func sum(t *testing.T, c *minio.Client, bkt, key string) ([32]byte, minio.ObjectInfo) {
	t.Helper()
	o, err := c.GetObject(context.Background(), bkt, key, minio.GetObjectOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer o.Close()
	b, err := io.ReadAll(o)
	if err != nil {
		t.Fatalf("get %s/%s: %v", bkt, key, err)
	}
	st, _ := o.Stat()
	return sha256.Sum256(b), st
}

// Above the single-request limit the server-side path copies the object
// in parts (UploadPartCopy), with its content type, metadata and recorded
// ETag. The limit is lowered so that a 15 MiB object takes that path, in
// three parts.
func TestServerSideParts(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := zerolog.Nop().WithContext(context.Background())
	c := m.Client()
	for _, b := range []string{"src", "dst"} {
		if err := m.MakeBucket(ctx, b, false); err != nil {
			t.Fatal(err)
		}
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 15<<20/16)
	if _, err := c.PutObject(ctx, "src", "p/big.dat", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{
		ContentType: "application/x-starrocks", CacheControl: "no-cache", UserMetadata: map[string]string{"Owner": "sr"}, PartSize: 5 << 20,
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := c.PutObject(ctx, "src", "p/small.dat", bytes.NewReader([]byte("s")), 1, minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	o := Options{Source: input(m), Target: input(m), SourcePath: "src/p", TargetPath: "dst/q", Workers: 2, ListWorkers: DefaultListWorkers, PartWorkers: DefaultPartWorkers,
		singlePutMax: 6 << 20, copyPart: 5 << 20}
	res, err := Run(ctx, o)
	if err != nil || !res.ServerSide || res.Copied != 2 || res.Bytes != int64(len(data))+1 {
		t.Fatalf("%+v %v", res, err)
	}
	want, src := sum(t, c, "src", "p/big.dat")
	got, dst := sum(t, c, "dst", "q/big.dat")
	if got != want {
		t.Fatal("composed object differs")
	}
	if !strings.HasSuffix(dst.ETag, "-3") {
		t.Fatalf("ETag %s: not copied in three parts", dst.ETag)
	}
	if dst.ContentType != "application/x-starrocks" || dst.Metadata.Get("Cache-Control") != "no-cache" ||
		dst.UserMetadata["Owner"] != "sr" || dst.UserMetadata[MetaSourceETag] != src.ETag {
		t.Fatalf("composed object's metadata: %q %v (source etag %s)", dst.ContentType, dst.Metadata, src.ETag)
	}
	if res, err := Run(ctx, o); err != nil || res.Copied != 0 || res.Skipped != 2 {
		t.Fatalf("re-run: %+v %v", res, err)
	}
}

// A listing whose context ends is never taken for a complete one: the
// lister does not close its channel.
func TestListerCancelledIsNotComplete(t *testing.T) {
	m := testbed.NewMinIO(t)
	ctx := zerolog.Nop().WithContext(context.Background())
	if err := m.MakeBucket(ctx, "bkt", false); err != nil {
		t.Fatal(err)
	}
	c := m.Client()
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			var err error
			for i := w; i < 2100 && err == nil; i += 8 {
				_, err = c.PutObject(ctx, "bkt", fmt.Sprintf("k/%04d", i), bytes.NewReader(nil), 0, minio.PutObjectOptions{})
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	cl, err := s3list.New(s3conf.Config{Endpoint: m.Endpoint(), Region: "us-east-1", AccessKey: m.AccessKey, SecretKey: m.SecretKey}, 4)
	if err != nil {
		t.Fatal(err)
	}
	// Complete listing: all entries, then the channel closes.
	ch := make(chan page)
	go (&lister{side: "source", client: cl, loc: Location{Bucket: "bkt", Prefix: "k/"}}).run(ctx, ch)
	n := 0
	for p := range ch {
		if p.err != nil {
			t.Fatal(p.err)
		}
		n += len(p.entries)
	}
	if n != 2100 {
		t.Fatalf("listed %d, want 2100", n)
	}
	// Cancelled after the first page: the channel stays open.
	lctx, cancel := context.WithCancel(ctx)
	ch = make(chan page)
	done := make(chan struct{})
	go func() {
		(&lister{side: "source", client: cl, loc: Location{Bucket: "bkt", Prefix: "k/"}}).run(lctx, ch)
		close(done)
	}()
	if p := <-ch; len(p.entries) != mergePage {
		t.Fatalf("first page: %d entries, %v", len(p.entries), p.err)
	}
	cancel()
	<-done
	select {
	case p, ok := <-ch:
		t.Fatalf("after cancellation the listing sent %v (open %v)", p, ok)
	case <-time.After(100 * time.Millisecond):
	}
}

// A streamed multipart copy whose part keeps failing is aborted (no upload
// is left behind to hold storage) and counted as failed; once the fault is
// gone the object is copied, byte for byte. Sizes are lowered so that a
// 12 MiB object takes three parts.
func TestStreamedMultipartAbortsAndRecovers(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	ctx := zerolog.Nop().WithContext(context.Background())
	makeBuckets(t, "bkt", a, b)
	data := make([]byte, 12<<20)
	for i := range data {
		data[i] = byte(i * 7 >> 3)
	}
	if _, err := a.Client().PutObject(ctx, "bkt", "src/seg.dat", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{ContentType: "application/x-seg"}); err != nil {
		t.Fatal(err)
	}
	proxy := testbed.NewFaultProxy(t, b.Endpoint())
	fault := proxy.Add(&testbed.Fault{Match: func(r *http.Request) bool {
		return r.Method == http.MethodPut && r.URL.Query().Get("partNumber") == "2"
	}, Status: 500, Code: "InternalError"})
	dst := input(b)
	dst.Endpoint = proxy.Endpoint()
	o := Options{Source: input(a), Target: dst, SourcePath: "bkt/src", TargetPath: "bkt/dst", Workers: 2, Retries: 1, ListWorkers: DefaultListWorkers, PartWorkers: DefaultPartWorkers,
		singlePutMax: 5 << 20, partSize: 5 << 20}
	res, err := Run(ctx, o)
	if err == nil || res.Errors != 1 || res.Copied != 0 || proxy.Hits(fault) < 2 {
		t.Fatalf("with a failing part: %+v %v (part tried %d times)", res, err, proxy.Hits(fault))
	}
	for u := range b.Client().ListIncompleteUploads(ctx, "bkt", "", true) {
		t.Fatalf("multipart upload left behind: %+v", u)
	}
	proxy.Clear()
	if res, err = Run(ctx, o); err != nil || res.Copied != 1 {
		t.Fatalf("after the fault: %+v %v", res, err)
	}
	got, st := sum(t, b.Client(), "bkt", "dst/seg.dat")
	if got != sha256.Sum256(data) || st.ContentType != "application/x-seg" || !strings.HasSuffix(st.ETag, "-3") {
		t.Fatalf("copied object: etag %s content type %s, bytes equal %v", st.ETag, st.ContentType, got == sha256.Sum256(data))
	}
	if res, err = Run(ctx, o); err != nil || res.Copied != 0 || res.Skipped != 1 {
		t.Fatalf("re-run: %+v %v", res, err)
	}
}

// Objects whose copies need a HEAD (multipart sources) are many: the run
// turns the target listing's metadata on and stops HEADing. The thresholds
// are lowered (pages of 20, decision after 50 objects).
func TestTargetListingTurnsMetadataOn(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	ctx := zerolog.Nop().WithContext(context.Background())
	makeBuckets(t, "bkt", a, b)
	// 300 one-part multipart objects: ETags "...-1", which no single PUT
	// of the same bytes reproduces.
	core := minio.Core{Client: a.Client()}
	errs := make(chan error, 8)
	for w := range 8 {
		go func() {
			var err error
			for i := w; i < 300 && err == nil; i += 8 {
				key := fmt.Sprintf("src/%03d", i)
				var id string
				if id, err = core.NewMultipartUpload(ctx, "bkt", key, minio.PutObjectOptions{}); err != nil {
					break
				}
				var p minio.ObjectPart
				if p, err = core.PutObjectPart(ctx, "bkt", key, id, 1, bytes.NewReader([]byte(key)), int64(len(key)), minio.PutObjectPartOptions{}); err != nil {
					break
				}
				_, err = core.CompleteMultipartUpload(ctx, "bkt", key, id, []minio.CompletePart{{PartNumber: 1, ETag: p.ETag}}, minio.PutObjectOptions{})
			}
			errs <- err
		}()
	}
	for range 8 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	o := Options{Source: input(a), Target: input(b), SourcePath: "bkt/src", TargetPath: "bkt/dst", Workers: 4, listPage: 20, metadataAfter: 50,
		ListWorkers: DefaultListWorkers, PartWorkers: DefaultPartWorkers}
	if res, err := Run(ctx, o); err != nil || res.Copied != 300 {
		t.Fatalf("first run: %+v %v", res, err)
	}
	res, err := Run(ctx, o)
	if err != nil || res.Copied != 0 || res.Skipped != 300 {
		t.Fatalf("re-run: %+v %v", res, err)
	}
	// Without the switch every object would be HEADed; with it, only those
	// listed before the lister saw it (50 + the pages in flight).
	if res.Heads < 50 || res.Heads > 150 {
		t.Fatalf("%d HEADs for 300 multipart objects, want 50-150", res.Heads)
	}
	t.Logf("%d HEADs for 300 multipart objects", res.Heads)
}

// A run stopped mid-copy (killed, or its target gone when it tried to
// abort) leaves an incomplete multipart upload at the target. The next run
// aborts it before copying the key again, and says so; an upload of a key
// it does not copy is left alone. Sizes are lowered so that a 12 MiB
// object takes the multipart path.
func TestStaleMultipartUploadAborted(t *testing.T) {
	a, b := testbed.NewMinIO(t), testbed.NewMinIO(t)
	ctx := zerolog.Nop().WithContext(context.Background())
	makeBuckets(t, "bkt", a, b)
	data := bytes.Repeat([]byte("segment!"), 12<<20/8)
	if _, err := a.Client().PutObject(ctx, "bkt", "src/seg.dat", bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{}); err != nil {
		t.Fatal(err)
	}
	// What the killed run left: an upload of the key with one part, and
	// another tool's upload of a key this run does not copy.
	core := minio.Core{Client: b.Client()}
	for _, key := range []string{"dst/seg.dat", "dst/other.dat"} {
		id, err := core.NewMultipartUpload(ctx, "bkt", key, minio.PutObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := core.PutObjectPart(ctx, "bkt", key, id, 1, bytes.NewReader(data[:5<<20]), 5<<20, minio.PutObjectPartOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(10 * time.Millisecond) // the run starts after those uploads
	o := Options{Source: input(a), Target: input(b), SourcePath: "bkt/src", TargetPath: "bkt/dst", Workers: 2, ListWorkers: DefaultListWorkers, PartWorkers: DefaultPartWorkers,
		singlePutMax: 5 << 20, partSize: 5 << 20}
	res, err := Run(ctx, o)
	if err != nil || res.Copied != 1 || res.AbortedUploads != 1 {
		t.Fatalf("%+v %v", res, err)
	}
	var left []string
	for u := range b.Client().ListIncompleteUploads(ctx, "bkt", "", true) {
		left = append(left, u.Key)
	}
	if fmt.Sprint(left) != "[dst/other.dat]" {
		t.Fatalf("incomplete uploads left: %v, want only dst/other.dat", left)
	}
	if got, _ := sum(t, b.Client(), "bkt", "dst/seg.dat"); got != sha256.Sum256(data) {
		t.Fatal("copied object differs")
	}
}
