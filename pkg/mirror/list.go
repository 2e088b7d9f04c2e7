package mirror

import (
	"context"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/retry"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// pageSize is how many entries travel together from a lister to the
// merge; two pages may wait in the channel. S3 returns 1,000 keys a
// request, so a side holds about four requests' worth of entries at most.
const (
	pageSize  = 1000
	pageQueue = 2
)

// lister lists one side recursively, in key order, and sends its entries
// to the merge as pages. A failed request is retried, resuming after the
// last key received (StartAfter), as the retry policy allows, counted
// afresh after progress; then the listing fails, which fails the run. It
// is never taken for the end of the listing.
type lister struct {
	side   string // "source" or "target"
	client *minio.Client
	loc    Location
	// metadata, when set, asks for user metadata (MinIO honours it; other
	// servers ignore it). The lister reads it at each page boundary and
	// resumes the listing with the new setting when it changed.
	metadata *atomic.Bool
	pageSize int          // entries a page (0: pageSize)
	retry    retry.Policy // the zero Policy: no retry
}

// newLister returns the run's lister of one side, which logs its retries.
func (r *run) newLister(ctx context.Context, side string, cl *minio.Client, loc Location, metadata *atomic.Bool) *lister {
	l := &lister{side: side, client: cl, loc: loc, metadata: metadata, pageSize: r.o.listPage}
	l.retry = r.policy(func(attempt int, err error) {
		zerolog.Ctx(ctx).Warn().Str("side", side).Int("attempt", attempt).Str("error", err.Error()).
			Msg("listing failed; resuming after the last key received")
	})
	return l
}

func (l *lister) what() string { return "list " + l.side + " " + l.loc.String() }

// run lists and sends pages to out. It closes out only after a complete
// listing; on failure it sends a page holding the error; when ctx ends
// first it returns without closing, so the listing never looks complete.
func (l *lister) run(ctx context.Context, out chan<- page) {
	send := func(p page) bool {
		select {
		case out <- p:
			return true
		case <-ctx.Done():
			return false
		}
	}
	size := pageSize
	if l.pageSize > 0 {
		size = l.pageSize
	}
	var (
		startAfter string
		buf        = make([]Entry, 0, size)
		attempts   = l.retry.Start()
		noOwner    = false
	)
	for {
		opts := minio.ListObjectsOptions{
			Prefix:       l.loc.Prefix,
			Recursive:    true,
			WithMetadata: l.metadata != nil && l.metadata.Load(),
			StartAfter:   startAfter,
			FetchOwner:   &noOwner,
		}
		var listErr error
		progressed, switched := false, false
		for o := range l.client.ListObjectsIter(ctx, l.loc.Bucket, opts) {
			if o.Err != nil {
				listErr = o.Err
				break
			}
			if !strings.HasPrefix(o.Key, l.loc.Prefix) {
				listErr = fmt.Errorf("server returned key %q outside the prefix %q", o.Key, l.loc.Prefix)
				break
			}
			if startAfter != "" && o.Key <= startAfter {
				listErr = fmt.Errorf("server returned key %q after %q: the listing is not in key order", o.Key, startAfter)
				break
			}
			startAfter, progressed = o.Key, true
			buf = append(buf, l.entry(o))
			if len(buf) == size {
				if !send(page{entries: buf}) {
					return
				}
				buf = make([]Entry, 0, size)
				if l.metadata != nil && l.metadata.Load() != opts.WithMetadata {
					switched = true
					break
				}
			}
		}
		if switched {
			continue // resume after the last key with the new setting
		}
		if listErr == nil && ctx.Err() != nil {
			return // the iterator stops silently when ctx ends: that is not the end of the listing
		}
		if listErr == nil {
			if len(buf) > 0 && !send(page{entries: buf}) {
				return
			}
			close(out)
			return
		}
		if progressed {
			attempts.Reset()
		}
		err := s3conf.Explain(listErr, l.what())
		if !attempts.Wait(ctx, err) {
			if ctx.Err() != nil {
				return
			}
			if n := attempts.Failed(); n > 0 {
				err = fmt.Errorf("%w (listing resumed %d times)", err, n)
			}
			send(page{err: err})
			return
		}
	}
}

// entry turns a listed object into an Entry; the key becomes relative.
func (l *lister) entry(o minio.ObjectInfo) Entry {
	e := Entry{
		Key:      o.Key[len(l.loc.Prefix):],
		Size:     o.Size,
		ETag:     NormalizeETag(o.ETag),
		Modified: o.LastModified,
	}
	if o.UserMetadata != nil {
		e.MetaKnown = true
		e.Recorded = recorded(o.UserMetadata)
	}
	return e
}
