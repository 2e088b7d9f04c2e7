package s3xfer

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// fakeUploads answers the requests of multipart uploads (create, part,
// abort, complete) and counts them.
type fakeUploads struct {
	mu                      sync.Mutex
	parts, aborts, complete int
	third                   chan struct{} // closed when the third part is in
}

func (f *fakeUploads) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	_, _ = io.Copy(io.Discard, r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	switch {
	case r.Method == http.MethodPost && q.Has("uploads"):
		fmt.Fprint(w, `<InitiateMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key><UploadId>up-1</UploadId></InitiateMultipartUploadResult>`)
	case r.Method == http.MethodPut && q.Has("partNumber"):
		if f.parts++; f.parts == 3 {
			close(f.third)
		}
		w.Header().Set("ETag", fmt.Sprintf(`"etag-%s"`, q.Get("partNumber")))
	case r.Method == http.MethodDelete && q.Has("uploadId"):
		f.aborts++
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodPost && q.Has("uploadId"):
		f.complete++
		fmt.Fprint(w, `<CompleteMultipartUploadResult><Bucket>bkt</Bucket><Key>k</Key><ETag>"done-4"</ETag></CompleteMultipartUploadResult>`)
	}
}

// failingAt reads like r but fails from offset at on, as a disk would,
// once after is closed.
type failingAt struct {
	r     io.ReaderAt
	at    int64
	after chan struct{}
}

func (f failingAt) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > f.at {
		<-f.after
		return 0, syscall.EIO
	}
	return f.r.ReadAt(p, off)
}

// A hasher that cannot read the file stops the upload: the parts waiting
// for it give up, the upload is aborted and the read error is the one
// reported (before, the parts after the failure waited for ever).
func TestUploadStopsWhenTheHasherFails(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	data := make([]byte, 6<<20)
	_, _ = rand.Read(data)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()

	fake := &fakeUploads{third: make(chan struct{})}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	env := map[string]string{"SRB_S3_ACCESS_KEY": "fake", "SRB_S3_SECRET_KEY": "fake-secret"}
	cfg, err := s3conf.Input{Endpoint: srv.URL, CredEnv: "SRB_S3", Getenv: func(k string) string { return env[k] }}.Resolve()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cl, err := s3conf.NewAWS(ctx, cfg, 1)
	if err != nil {
		t.Fatal(err)
	}
	p := &uploadPlan{plan: &plan{bucket: "bkt", key: "k", localPath: path, partSize: 1 << 20, concurrency: 1, cfg: cfg},
		want: strings.Repeat("ab", 32)} // known in advance: the parts go while the file is hashed
	s := newSender(p, cl, f, fi)
	s.src = failingAt{f, 3 << 20, fake.third} // parts 1-3 read and sent, then part 4 fails

	_, _, err = s.send(ctx)
	if ctx.Err() != nil {
		t.Fatal("the upload hung after the hasher failed")
	}
	if !errors.Is(err, syscall.EIO) || !strings.Contains(err.Error(), "read "+path) {
		t.Fatalf("want the read error, got %v", err)
	}
	if fake.parts != 3 || fake.aborts != 1 || fake.complete != 0 {
		t.Fatalf("%d parts, %d aborts, %d completions", fake.parts, fake.aborts, fake.complete)
	}
}
