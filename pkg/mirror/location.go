package mirror

import (
	"strings"

	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Location is one side of a mirror: a bucket and a folder in it.
type Location struct {
	Bucket string
	// Prefix is "" (the whole bucket) or a folder ending in "/". Keys map
	// between the sides by swapping one side's prefix for the other's.
	Prefix string
}

// String gives the location as s3://bucket/prefix.
func (l Location) String() string { return "s3://" + l.Bucket + "/" + l.Prefix }

// URL gives the s3:// address of a key relative to the location.
func (l Location) URL(rel string) string { return "s3://" + l.Bucket + "/" + l.Prefix + rel }

// Key returns the full key of a key relative to the location.
func (l Location) Key(rel string) string { return l.Prefix + rel }

// ParseLocation reads BUCKET[/PREFIX] or s3://BUCKET[/PREFIX]. The prefix is
// a folder: "b/data" and "b/data/" both mean the keys under "data/", never
// "data-old/...". Errors are usage errors; flag names the flag in them.
func ParseLocation(flag, s string) (Location, error) {
	raw := s
	if s == "" {
		return Location{}, usage.Errorf("--%s is required (BUCKET[/PREFIX])", flag)
	}
	if i := strings.Index(s, "://"); i >= 0 {
		if !strings.EqualFold(s[:i], "s3") {
			return Location{}, usage.Errorf("--%s %q: only the s3:// scheme is supported (the endpoint is --%s-endpoint)", flag, raw, flag)
		}
		s = s[i+3:]
	}
	bucket, prefix, _ := strings.Cut(s, "/")
	if err := s3utils.CheckValidBucketNameStrict(bucket); err != nil {
		return Location{}, usage.Errorf("--%s %q: invalid bucket name %q: %v", flag, raw, bucket, err)
	}
	if strings.HasPrefix(prefix, "/") {
		return Location{}, usage.Errorf("--%s %q: the prefix starts with '/' (an empty folder name); write BUCKET/PREFIX", flag, raw)
	}
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	if err := s3utils.CheckValidObjectNamePrefix(prefix); err != nil {
		return Location{}, usage.Errorf("--%s %q: invalid prefix: %v", flag, raw, err)
	}
	return Location{Bucket: bucket, Prefix: prefix}, nil
}

// overlaps reports whether two locations on the same server share keys:
// the same bucket, and one prefix inside the other.
func overlaps(a, b Location) bool {
	return a.Bucket == b.Bucket && (strings.HasPrefix(a.Prefix, b.Prefix) || strings.HasPrefix(b.Prefix, a.Prefix))
}
