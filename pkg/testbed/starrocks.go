package testbed

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/fnv"
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
	MaxData    int64 // largest segment size (sizes are uniform from 0)
	MetaFiles  int   // .meta per partition (0.5-8.5 KiB)
	LogFiles   int   // .log per partition (0.25-4.25 KiB)
	Schema     bool  // a SCHEMA_<id> file per partition
	// Segments are the sizes of large segments, in a partition of their own.
	Segments []int64
	Workers  int // concurrent PUTs (default 16)
	Seed     uint64
}

type treeObject struct {
	key  string
	size int64
}

// layout lists the tree's objects.
func (s TreeSpec) layout() []treeObject {
	r := rand.New(rand.NewPCG(s.Seed, 42))
	service := fmt.Sprintf("%08x-%04x-%04x-%04x-%012x", r.Uint32(), r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint32()&0xffff, r.Uint64()&0xffffffffffff)
	var out []treeObject
	add := func(key string, size int64) { out = append(out, treeObject{s.Prefix + key, size}) }
	for p := 0; p < s.Partitions; p++ {
		base := fmt.Sprintf("%s/db%d/%d/%d/", service, 10000+p/200, 10050+p/20, 20000+p)
		for i := 0; i < s.DataFiles; i++ {
			add(fmt.Sprintf("%sdata/%016x_%08x-1f2e-4d3c-8b9a-%012x.dat", base, uint64(p)*100+uint64(i), r.Uint32(), r.Uint64()>>16), r.Int64N(s.MaxData+1))
		}
		for i := 0; i < s.MetaFiles; i++ {
			add(fmt.Sprintf("%smeta/%016X_%016X.meta", base, 15000+p, i+1), 512+r.Int64N(8<<10))
		}
		for i := 0; i < s.LogFiles; i++ {
			add(fmt.Sprintf("%slog/%016X_%016X.log", base, 15000+p, i+1), 256+r.Int64N(4<<10))
		}
		if s.Schema {
			add(fmt.Sprintf("%sSCHEMA_%016X", base, 20000+p), 300)
		}
	}
	for k, size := range s.Segments {
		add(fmt.Sprintf("%s/db19999/19999/%d/data/%016x_big-segment.dat", service, 29999-k, k), size)
	}
	return out
}

// SeedStarRocksTree writes the tree into bucket with concurrent PUTs and
// returns the number of objects and bytes written. Each object is a window
// of one pseudo-random pool (from Seed) at an offset drawn from its key, so
// objects differ from each other and memory stays at the largest object.
func SeedStarRocksTree(ctx context.Context, c *minio.Client, bucket string, s TreeSpec) (int, int64, error) {
	objs := s.layout()
	largest := int64(0)
	for _, o := range objs {
		largest = max(largest, o.size)
	}
	pool := make([]byte, largest+4<<20)
	pr := rand.New(rand.NewPCG(s.Seed, 11))
	for i := 0; i+8 <= len(pool); i += 8 {
		binary.LittleEndian.PutUint64(pool[i:], pr.Uint64())
	}
	workers := s.Workers
	if workers <= 0 {
		workers = 16
	}
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
		total int64
		next  = make(chan treeObject)
	)
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for o := range next {
				h := fnv.New64a()
				h.Write([]byte(o.key))
				off := int64(h.Sum64() % uint64(int64(len(pool))-o.size+1))
				_, err := c.PutObject(ctx, bucket, o.key, bytes.NewReader(pool[off:off+o.size]), o.size,
					minio.PutObjectOptions{ContentType: "application/octet-stream"})
				mu.Lock()
				if err != nil && first == nil {
					first = fmt.Errorf("seed %s: %w", o.key, err)
				}
				total += o.size
				mu.Unlock()
			}
		}()
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
