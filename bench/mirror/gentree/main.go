// Command gentree fills a bucket folder with a StarRocks-like tree for the
// mirror benchmark (bench/mirror/run.sh): partitions holding data/*.dat
// segments of 0-256 KiB, meta/*.meta and log/*.log files of a few KiB, and
// a few large segments. Contents are pseudo-random (seeded), so two runs
// with the same flags build the same tree.
//
//	GEN_ACCESS_KEY=... GEN_SECRET_KEY=... go run ./bench/mirror/gentree \
//	    -endpoint http://127.0.0.1:9000 -bucket src -prefix starrocks -objects 20000 -big 64,128,256,512
package main

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

func main() {
	endpoint := flag.String("endpoint", "", "MinIO URL (http://host:port)")
	bucket := flag.String("bucket", "", "bucket (created if missing)")
	prefix := flag.String("prefix", "starrocks", "folder of the tree")
	objects := flag.Int("objects", 20000, "number of small objects")
	maxData := flag.Int("max-data", 256<<10, "largest data/*.dat size in bytes (sizes are uniform from 0)")
	big := flag.String("big", "64,128,256,512", "sizes in MiB of the large segments, comma-separated (empty for none)")
	workers := flag.Int("workers", 32, "objects written at once")
	seed := flag.Uint64("seed", 1, "content seed")
	flag.Parse()
	if err := run(*endpoint, *bucket, strings.Trim(*prefix, "/")+"/", *objects, *maxData, *big, *workers, *seed); err != nil {
		fmt.Fprintln(os.Stderr, "gentree:", err)
		os.Exit(1)
	}
}

type object struct {
	key  string
	size int
}

// layout lists the tree: 20 objects per partition (10 data, 6 meta, 4 log)
// across databases and tables as StarRocks names them, then the large
// segments.
func layout(n, maxData int, big []int, seed uint64) []object {
	r := rand.New(rand.NewPCG(seed, 7))
	const svc = "1018bac0-5cd2-4b5c-9f7e-6ee7a48699d8"
	var out []object
	for i := 0; len(out) < n; i++ {
		db, table, part := 10000+i/200, 10050+i/20, 20000+i
		base := fmt.Sprintf("%s/db%d/%d/%d/", svc, db, table, part)
		for j := 0; j < 20 && len(out) < n; j++ {
			txn := uint64(i)*100 + uint64(j)
			switch {
			case j < 10:
				out = append(out, object{fmt.Sprintf("%sdata/%016x_%08x-1f2e-4d3c-8b9a-%012x.dat", base, txn, r.Uint32(), r.Uint64()>>16), r.IntN(maxData + 1)})
			case j < 16:
				out = append(out, object{fmt.Sprintf("%smeta/%016X_%016X.meta", base, part*10+j, txn), 512 + r.IntN(8<<10)})
			default:
				out = append(out, object{fmt.Sprintf("%slog/%016X_%016X.log", base, part*10+j, txn), 256 + r.IntN(4<<10)})
			}
		}
	}
	for k, mib := range big {
		out = append(out, object{fmt.Sprintf("%s/db19999/19999/%d/data/%016x_big-segment.dat", svc, 29999-k, k), mib << 20})
	}
	return out
}

func run(endpoint, bucket, prefix string, n, maxData int, bigList string, workers int, seed uint64) error {
	u, err := url.Parse(endpoint)
	if err != nil || u.Host == "" {
		return fmt.Errorf("bad -endpoint %q", endpoint)
	}
	var big []int
	for _, s := range strings.Split(bigList, ",") {
		if s = strings.TrimSpace(s); s != "" {
			v, err := strconv.Atoi(s)
			if err != nil {
				return fmt.Errorf("bad -big %q", bigList)
			}
			big = append(big, v)
		}
	}
	c, err := minio.New(u.Host, &minio.Options{
		Creds:  credentials.NewStaticV4(os.Getenv("GEN_ACCESS_KEY"), os.Getenv("GEN_SECRET_KEY"), ""),
		Secure: u.Scheme == "https",
	})
	if err != nil {
		return err
	}
	ctx := context.Background()
	if ok, err := c.BucketExists(ctx, bucket); err != nil {
		return err
	} else if !ok {
		if err := c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{}); err != nil {
			return err
		}
	}
	objs := layout(n, maxData, big, seed)
	// One pseudo-random pool: each object is a window of it, at an offset
	// drawn from its key, so objects differ from each other.
	pool := make([]byte, 520<<20)
	pr := rand.New(rand.NewPCG(seed, 11))
	for i := 0; i+8 <= len(pool); i += 8 {
		v := pr.Uint64()
		for j := range 8 {
			pool[i+j] = byte(v >> (8 * j))
		}
	}
	start := time.Now()
	var done, bytesDone atomic.Int64
	var firstErr error
	var mu sync.Mutex
	ch := make(chan object)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range ch {
				off := int(uint32(len(o.key)*2654435761+o.size)) % (len(pool) - o.size + 1)
				_, err := c.PutObject(ctx, bucket, prefix+o.key, bytes.NewReader(pool[off:off+o.size]), int64(o.size),
					minio.PutObjectOptions{ContentType: "application/octet-stream"})
				if err != nil {
					mu.Lock()
					if firstErr == nil {
						firstErr = fmt.Errorf("put %s: %w", o.key, err)
					}
					mu.Unlock()
				}
				done.Add(1)
				bytesDone.Add(int64(o.size))
			}
		}()
	}
	for _, o := range objs {
		ch <- o
	}
	close(ch)
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	fmt.Printf("gentree: %d objects, %.1f MiB in s3://%s/%s in %.1fs\n", done.Load(), float64(bytesDone.Load())/(1<<20), bucket, prefix, time.Since(start).Seconds())
	return nil
}
