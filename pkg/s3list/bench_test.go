package s3list

import (
	"bytes"
	"context"
	"encoding/xml"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// perObject reports a benchmark's time, CPU (this process's, user and
// system) and allocations per listed object; run does b.N operations of
// objects objects each.
func perObject(b *testing.B, objects int, run func()) {
	b.Helper()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	cpu := cpuTime(b)
	b.ResetTimer()
	run()
	b.StopTimer()
	cpu = cpuTime(b) - cpu
	runtime.ReadMemStats(&after)
	n := float64(b.N) * float64(objects)
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/n, "ns/object")
	b.ReportMetric(float64(cpu.Nanoseconds())/n, "cpu-ns/object")
	b.ReportMetric(float64(after.Mallocs-before.Mallocs)/n, "allocs/object")
}

// cpuTime is the CPU (user and system) this process has used.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Decoding one recorded page: the scanner, and encoding/xml into
// minio-go's own result types (what minio-go's listing does).
func BenchmarkDecodePage(b *testing.B) {
	for _, name := range []string{"listsim-1.xml.gz", "minio-metadata.xml.gz", "minio-versions.xml"} {
		body := readTestdata(b, name)
		var d decoder
		var p Page
		if err := d.page(body, rootOf(name), &p); err != nil {
			b.Fatal(err)
		}
		objects := len(p.Objects)
		b.Run("s3list/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			perObject(b, objects, func() {
				for range b.N {
					if err := d.page(body, rootOf(name), &p); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
		b.Run("encoding-xml/"+name, func(b *testing.B) {
			b.SetBytes(int64(len(body)))
			perObject(b, objects, func() {
				for range b.N {
					var err error
					if rootOf(name) == rootVersions {
						err = xml.NewDecoder(bytes.NewReader(body)).Decode(&minio.ListVersionsResult{})
					} else {
						err = xml.NewDecoder(bytes.NewReader(body)).Decode(&minio.ListBucketV2Result{})
					}
					if err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// pageServer serves the three recorded listsim pages as one listing of
// 3,000 keys (then an empty last page), following continuation tokens.
func pageServer(b *testing.B) (*httptest.Server, int) {
	byToken := map[string][]byte{}
	token, objects := "", 0
	for _, name := range []string{"listsim-1.xml.gz", "listsim-2.xml.gz", "listsim-3.xml.gz"} {
		body := readTestdata(b, name)
		var d decoder
		var p Page
		if err := d.page(body, rootList, &p); err != nil {
			b.Fatal(err)
		}
		byToken[token], token = body, p.NextContinuationToken
		objects += len(p.Objects)
	}
	byToken[token] = page("<IsTruncated>false</IsTruncated>")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := byToken[r.URL.Query().Get("continuation-token")]
		if !ok {
			http.Error(w, "unknown token", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/xml")
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv, objects
}

// benchEntry is what a lister makes of each listed object for the merge.
type benchEntry struct {
	key, etag string
	size      int64
	modified  time.Time
}

// bothClients runs a listing benchmark with s3list and with minio-go's
// ListObjectsIter as mirror uses it (a client from s3conf, signing),
// making one entry per object; each operation lists objects objects.
func bothClients(b *testing.B, cfg s3conf.Config, objects int) {
	sink := make([]benchEntry, 0, 1000)
	add := func(key, etag string, size int64, modified time.Time) {
		if len(sink) == cap(sink) {
			sink = sink[:0]
		}
		sink = append(sink, benchEntry{key: key, etag: strings.ToLower(etag), size: size, modified: modified})
	}
	b.Run("s3list", func(b *testing.B) {
		c, err := New(cfg, 4)
		if err != nil {
			b.Fatal(err)
		}
		perObject(b, objects, func() {
			for range b.N {
				n := 0
				err := c.List(context.Background(), Query{Bucket: "bkt"}, func(p *Page) error {
					for i := range p.Objects {
						o := &p.Objects[i]
						add(o.Key, o.ETag, o.Size, o.LastModified)
					}
					n += len(p.Objects)
					return nil
				})
				if err != nil || n != objects {
					b.Fatalf("%d objects: %v", n, err)
				}
			}
		})
	})
	b.Run("minio-go", func(b *testing.B) {
		mc, err := s3conf.NewMinio(cfg, 4)
		if err != nil {
			b.Fatal(err)
		}
		perObject(b, objects, func() {
			for range b.N {
				n := 0
				for o := range mc.ListObjectsIter(context.Background(), "bkt", minio.ListObjectsOptions{Recursive: true}) {
					if o.Err != nil {
						b.Fatal(o.Err)
					}
					add(o.Key, o.ETag, o.Size, o.LastModified)
					n++
				}
				if n != objects {
					b.Fatalf("%d objects", n)
				}
			}
		})
	})
}

// A whole listing end to end over HTTP (requests, signatures, transfer,
// decoding, one entry per object) from an in-process server serving the
// recorded listsim pages. The server's share of the time and CPU is in
// the figures (BenchmarkListsim, e2e, has the server in another process).
func BenchmarkList(b *testing.B) {
	srv, objects := pageServer(b)
	bothClients(b, testConfig(srv.URL), objects)
}
