// Package catalog lists, verifies, commits and prunes the backup sets of an
// off-site bucket (see pkg/backupset for what a set is). It is the Run side
// of the catalog binary: each command is a function taking Options and the
// command's own inputs, returning a result for the result line.
package catalog

import (
	"context"
	"fmt"
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Options are the inputs every command shares: where the sets are.
type Options struct {
	S3     s3conf.Input
	Bucket string
	// SetsPrefix holds one folder per set (default "backups/"); DataPrefix
	// the shared data copy the listings are relative to (default "data/").
	SetsPrefix string
	DataPrefix string
}

// where is a checked Options.
type where struct {
	bucket string
	layout backupset.Layout
	data   string // the data folder, ending in "/"
}

func (o Options) check() (where, error) {
	w := where{bucket: o.Bucket}
	if o.Bucket == "" {
		return w, usage.Errorf("--bucket is required")
	}
	if err := s3utils.CheckValidBucketNameStrict(o.Bucket); err != nil {
		return w, usage.Errorf("--bucket %q: %v", o.Bucket, err)
	}
	sets, data := strings.TrimLeft(o.SetsPrefix, "/"), strings.TrimLeft(o.DataPrefix, "/")
	if sets == "" {
		sets = backupset.DefaultSetsPrefix
	}
	if data == "" {
		data = backupset.DefaultDataPrefix
	}
	if !strings.HasSuffix(data, "/") {
		data += "/"
	}
	w.layout, w.data = backupset.NewLayout(sets), data
	if strings.HasPrefix(w.layout.Sets, w.data) || strings.HasPrefix(w.data, w.layout.Sets) {
		return w, usage.Errorf("--sets-prefix %q and --data-prefix %q overlap: a prune could delete sets as data", w.layout.Sets, w.data)
	}
	return w, nil
}

// dataTarget is the off-site data folder as listings name it.
func (w where) dataTarget() string { return "s3://" + w.bucket + "/" + w.data }

// open checks the options and connects.
func open(ctx context.Context, o Options) (*store, where, error) {
	w, err := o.check()
	if err != nil {
		return nil, w, err
	}
	cfg, err := o.S3.Resolve()
	if err != nil {
		return nil, w, err
	}
	cl, err := s3conf.NewAWS(ctx, cfg, 32)
	if err != nil {
		return nil, w, err
	}
	st := &store{cl: cl, bucket: o.Bucket, endpoint: cfg.String()}
	st.requests.Add(1)
	if err := s3conf.HeadBucket(ctx, cl, o.Bucket); err != nil {
		return nil, w, err
	}
	return st, w, nil
}

// Common is the part of every command's result that says where it looked.
type Common struct {
	Endpoint string `json:"endpoint"`
	Bucket   string `json:"bucket"`
	Sets     string `json:"sets_prefix"`
	Data     string `json:"data_prefix"`
	// Requests counts the S3 requests the command made.
	Requests int64 `json:"requests"`
}

func common(st *store, w where) Common {
	c := Common{Bucket: w.bucket, Sets: w.layout.Sets, Data: w.data}
	if st != nil {
		c.Endpoint, c.Requests = st.endpoint, st.requests.Load()
	}
	return c
}

// maxKeys bounds the keys a result names (missing_keys, ...).
const maxKeys = 10

func addKey(keys *[]string, k string) {
	if len(*keys) < maxKeys {
		*keys = append(*keys, k)
	}
}

func plural(n int64, one string) string {
	if n == 1 {
		return fmt.Sprintf("1 %s", one)
	}
	return fmt.Sprintf("%d %ss", n, one)
}
