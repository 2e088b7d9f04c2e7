package testbed

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

	"github.com/minio/minio-go/v7"
)

// TreeSpec shapes a StarRocks-like object tree (docs/starrocks.md):
// <prefix><service id>/db<id>/<table>/<partition>/{data,meta,log}/...
type TreeSpec struct {
	Prefix     string // "" or ending in "/"
	Partitions int
	DataFiles  int   // .dat segments per partition
	MaxData    int64 // largest segment size (sizes are spread from 0)
	MetaFiles  int   // .meta per partition (a few KiB)
	LogFiles   int   // .log per partition (a few KiB)
	Seed       uint64
}

// ObjectsPerPartition returns how many objects a partition holds.
func (s TreeSpec) ObjectsPerPartition() int { return s.DataFiles + s.MetaFiles + s.LogFiles + 1 }

// SeedStarRocksTree writes the tree into bucket with 16 concurrent PUTs and
// returns the number of objects and bytes written. Content is
// pseudo-random (from Seed), so two seeds give different bytes.
func SeedStarRocksTree(ctx context.Context, c *minio.Client, bucket string, s TreeSpec) (int, int64, error) {
	type obj struct {
		key  string
		size int64
	}
	rng := rand.New(rand.NewPCG(s.Seed, 42))
	service := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint32()&0xffff, rng.Uint64()&0xffffffffffff)
	var objs []obj
	for p := 0; p < s.Partitions; p++ {
		base := fmt.Sprintf("%s%s/db10043/%d/%d/", s.Prefix, service, 10058+p/4, 10057+p)
		for i := 0; i < s.DataFiles; i++ {
			size := int64(0)
			if s.MaxData > 0 {
				size = rng.Int64N(s.MaxData + 1)
			}
			objs = append(objs, obj{fmt.Sprintf("%sdata/%016x_%08x-%04x.dat", base, rng.Uint64(), rng.Uint32(), i), size})
		}
		for i := 0; i < s.MetaFiles; i++ {
			objs = append(objs, obj{fmt.Sprintf("%smeta/%016X_%016X.meta", base, 15000+p, i+1), 512 + rng.Int64N(4096)})
		}
		for i := 0; i < s.LogFiles; i++ {
			objs = append(objs, obj{fmt.Sprintf("%slog/%016X_%016X.log", base, 15000+p, i+1), 256 + rng.Int64N(2048)})
		}
		objs = append(objs, obj{fmt.Sprintf("%sSCHEMA_%016X", base, 20000+p), 300})
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		total int64
		next  = make(chan obj)
	)
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			r := rand.New(rand.NewPCG(seed, 7))
			for o := range next {
				buf := make([]byte, o.size)
				for i := range buf {
					buf[i] = byte(r.Uint32())
				}
				_, err := c.PutObject(ctx, bucket, o.key, bytes.NewReader(buf), o.size, minio.PutObjectOptions{ContentType: "application/octet-stream"})
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("seed %s: %w", o.key, err)
				}
				total += o.size
				mu.Unlock()
			}
		}(s.Seed*100 + uint64(w))
	}
	for _, o := range objs {
		next <- o
	}
	close(next)
	wg.Wait()
	return len(objs), total, first
}

// BucketDigest returns key → SHA-256 of the content, for every object under
// prefix (keys relative to it).
func BucketDigest(ctx context.Context, c *minio.Client, bucket, prefix string) (map[string]string, error) {
	out := map[string]string{}
	for o := range c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true}) {
		if o.Err != nil {
			return nil, o.Err
		}
		r, err := c.GetObject(ctx, bucket, o.Key, minio.GetObjectOptions{})
		if err != nil {
			return nil, err
		}
		h := sha256.New()
		_, err = io.Copy(h, r)
		r.Close()
		if err != nil {
			return nil, fmt.Errorf("read %s: %w", o.Key, err)
		}
		out[strings.TrimPrefix(o.Key, prefix)] = hex.EncodeToString(h.Sum(nil))
	}
	return out, nil
}

// EmptyBucket deletes every object (all versions) of a bucket.
func EmptyBucket(ctx context.Context, c *minio.Client, bucket string) error {
	objs := c.ListObjects(ctx, bucket, minio.ListObjectsOptions{Recursive: true, WithVersions: true})
	for e := range c.RemoveObjects(ctx, bucket, objs, minio.RemoveObjectsOptions{}) {
		if e.Err != nil {
			return e.Err
		}
	}
	return nil
}

// DiffDigests describes how two digests differ ("" when equal), listing at
// most a few paths.
func DiffDigests(want, got map[string]string) string {
	var diffs []string
	for k, v := range want {
		if g, ok := got[k]; !ok {
			diffs = append(diffs, "missing "+k)
		} else if g != v {
			diffs = append(diffs, "changed "+k)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			diffs = append(diffs, "extra "+k)
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 10 {
		diffs = append(diffs[:10], fmt.Sprintf("… %d more", len(diffs)-10))
	}
	return strings.Join(diffs, ", ")
}
