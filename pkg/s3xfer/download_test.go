package s3xfer

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// fakeObject serves one object (HEAD, ranged GET with If-Match) and
// breaks off the body of the first GET of the range starting at cutAt
// halfway, as a dropped connection would: the fault that the SDK does not
// retry by itself.
type fakeObject struct {
	data   []byte
	sum    string
	cutAt  int64
	mu     sync.Mutex
	cut    bool
	ranges []string
}

func (o *fakeObject) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	const etag = `"fake-etag"`
	w.Header().Set("ETag", etag)
	if r.Method == http.MethodHead {
		w.Header().Set("Content-Length", fmt.Sprint(len(o.data)))
		w.Header().Set("X-Amz-Meta-Sha256", o.sum)
		return
	}
	if r.Header.Get("If-Match") != etag {
		w.WriteHeader(http.StatusPreconditionFailed)
		return
	}
	var from, to int64
	if _, err := fmt.Sscanf(r.Header.Get("Range"), "bytes=%d-%d", &from, &to); err != nil {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	o.mu.Lock()
	o.ranges = append(o.ranges, r.Header.Get("Range"))
	cut := from == o.cutAt && !o.cut
	o.cut = o.cut || cut
	o.mu.Unlock()
	w.Header().Set("Content-Length", fmt.Sprint(to-from+1))
	w.Header().Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", from, to, len(o.data)))
	w.WriteHeader(http.StatusPartialContent)
	if cut {
		_, _ = w.Write(o.data[from : from+(to-from+1)/2])
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
	_, _ = w.Write(o.data[from : to+1])
}

// A range whose body breaks off is resumed where it stopped (not started
// again, not given up), and the file is whole and verified.
func TestDownloadResumesABrokenRange(t *testing.T) {
	data := make([]byte, 3*minPartSize+17)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	obj := &fakeObject{data: data, sum: hex.EncodeToString(sum[:]), cutAt: minPartSize}
	srv := httptest.NewServer(obj)
	defer srv.Close()
	env := map[string]string{"SRB_S3_ACCESS_KEY": "fake", "SRB_S3_SECRET_KEY": "fake-secret"}
	out := filepath.Join(t.TempDir(), "out")
	res, err := Download(context.Background(), DownloadOptions{Transfer: Transfer{
		S3:     s3conf.Input{Endpoint: srv.URL, CredEnv: "SRB_S3", Getenv: func(k string) string { return env[k] }},
		Bucket: "bkt", Key: "k", LocalPath: out, PartSize: minPartSize, Concurrency: 2}})
	if err != nil || !res.Verified || res.SHA256 != obj.sum {
		t.Fatalf("%+v, %v", res, err)
	}
	if got, _ := os.ReadFile(out); string(got) != string(data) {
		t.Fatal("the file differs from the object")
	}
	resumed := fmt.Sprintf("bytes=%d-%d", minPartSize+minPartSize/2, 2*minPartSize-1)
	if !obj.cut || !strings.Contains(strings.Join(obj.ranges, " "), resumed) || len(obj.ranges) != 5 {
		t.Fatalf("want 4 ranges and %s resumed; got %v", resumed, obj.ranges)
	}
}
