package mirror

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/retry"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/s3list"
)

// pageSize is how many keys a listing request asks for (S3's most).
// mergePage is how many entries travel together from a lister to its
// unit's merge; pageQueue of them may wait in the channel. A side then
// holds about one request's worth of entries (and the request's page) per
// unit being listed (--list-workers): small pages keep the memory of
// many units listed at once low.
const (
	pageSize  = 1000
	mergePage = 250
	pageQueue = 2
)

// lister lists one side recursively, in key order, and sends its entries
// to the merge as pages. A failed request is retried, resuming after the
// last key received (StartAfter), as the retry policy allows, counted
// afresh after progress; then the listing fails, which fails the run. It
// is never taken for the end of the listing.
type lister struct {
	side   string // "source" or "target"
	client *s3list.Client
	loc    Location
	// rng bounds the keys listed (relative): the listing asks for no
	// wider folder than the range needs, starts just below its start,
	// drops what sorts before it and ends at its end.
	rng KeyRange
	// metadata, when set, asks for user metadata (MinIO honours it; other
	// servers ignore it). The lister reads it at each page boundary and
	// resumes the listing with the new setting when it changed.
	metadata *atomic.Bool
	// versions lists the object versions (a versioned target of a
	// backup), so that each entry carries its current version; older
	// versions are skipped, and a key whose current version is a delete
	// marker is absent.
	versions bool
	pageSize int          // keys a request (0: the server's default); entries a merge page (0: mergePage)
	retry    retry.Policy // the zero Policy: no retry
}

// newLister returns the run's lister of one side within rng, which logs its
// retries.
func (r *run) newLister(ctx context.Context, side string, cl *s3list.Client, loc Location, rng KeyRange, metadata *atomic.Bool) *lister {
	l := &lister{side: side, client: cl, loc: loc, rng: rng, metadata: metadata, pageSize: r.o.listPage}
	l.retry = r.policy(func(attempt int, err error) {
		zerolog.Ctx(ctx).Warn().Str("side", side).Int("attempt", attempt).Str("error", err.Error()).
			Msg("listing failed; resuming after the last key received")
	})
	return l
}

func (l *lister) what() string {
	if l.rng.Whole() {
		return "list " + l.side + " " + l.loc.String()
	}
	return "list " + l.side + " " + l.loc.String() + " in " + l.rng.String()
}

// run lists and sends pages to out. It closes out only after a complete
// listing; on failure it sends a page holding the error; when ctx ends
// first it returns without closing, so the listing never looks complete.
func (l *lister) run(ctx context.Context, out chan<- page) {
	send := func(p page) bool { return sendPage(ctx, out, p) }
	size := orDefault(l.pageSize, mergePage)
	var (
		startAfter string
		prefix     = l.loc.Prefix + l.rng.folder()
		buf        = make([]Entry, 0, size)
		attempts   = l.retry.Start()
		stopped    bool // ctx ended while a page waited to be sent
	)
	if l.rng.Start != "" {
		startAfter = l.loc.Prefix + l.rng.startAfter()
	}
	for {
		withMeta := l.metadata != nil && l.metadata.Load()
		progressed, switched := false, false
		each := func(p *s3list.Page) error {
			for i := range p.Objects {
				o := &p.Objects[i]
				if !strings.HasPrefix(o.Key, prefix) {
					return fmt.Errorf("server returned key %q outside the prefix %q", o.Key, prefix)
				}
				if l.versions && !o.IsLatest {
					continue // an older version of the key just listed
				}
				if startAfter != "" && o.Key <= startAfter {
					return fmt.Errorf("server returned key %q after %q: the listing is not in key order", o.Key, startAfter)
				}
				rel := o.Key[len(l.loc.Prefix):]
				if !l.rng.before(rel) {
					return s3list.ErrStop // past the range: the range's listing is complete
				}
				startAfter, progressed = o.Key, true
				if o.DeleteMarker || rel < l.rng.Start {
					continue // deleted (the key is absent), or below the range
				}
				buf = append(buf, l.entry(o, rel))
				if len(buf) == size {
					if !send(page{entries: buf}) {
						stopped = true
						return s3list.ErrStop
					}
					buf = make([]Entry, 0, size)
					if l.metadata != nil && l.metadata.Load() != withMeta {
						switched = true
						return s3list.ErrStop
					}
				}
			}
			return nil
		}
		listErr := l.pages(ctx, prefix, startAfter, withMeta, each)
		switch {
		case stopped:
			return
		case switched:
			continue // resume after the last key with the new setting
		case listErr == nil:
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
				return // not the end of the listing
			}
			if n := attempts.Failed(); n > 0 {
				err = fmt.Errorf("%w (listing resumed %d times)", err, n)
			}
			send(page{err: err})
			return
		}
	}
}

// pages lists the prefix after the key after, page by page, and hands each
// page to each until a page is not truncated or each returns
// s3list.ErrStop. Every request resumes after the last key of the page
// before (a start-after, or a key marker), never with a continuation
// token: MinIO answers a request carrying its own token by walking the
// whole rest of the prefix into a cache in the background, which many
// units listed at once would each do (the server worked ten times more);
// a request carrying a start-after lists only what it returns.
func (l *lister) pages(ctx context.Context, prefix, after string, meta bool, each func(*s3list.Page) error) error {
	var p s3list.Page
	for {
		var err error
		if l.versions {
			err = l.client.VersionsPage(ctx, s3list.VersionsQuery{Bucket: l.loc.Bucket, Prefix: prefix, KeyMarker: after,
				MaxKeys: l.pageSize, Metadata: meta}, &p)
		} else {
			err = l.client.ListPage(ctx, s3list.Query{Bucket: l.loc.Bucket, Prefix: prefix, StartAfter: after,
				MaxKeys: l.pageSize, Metadata: meta}, &p)
		}
		if err != nil {
			return err
		}
		if err := each(&p); err != nil {
			if errors.Is(err, s3list.ErrStop) {
				return nil
			}
			return err
		}
		if !p.Truncated {
			return nil
		}
		if len(p.Objects) == 0 || p.Objects[len(p.Objects)-1].Key <= after {
			return errors.New("the server sent a truncated page that gets no further: the listing would not progress")
		}
		after = p.Objects[len(p.Objects)-1].Key
	}
}

// entry turns a listed object into an Entry, under its relative key.
func (l *lister) entry(o *s3list.Object, rel string) Entry {
	e := Entry{Key: rel, Size: o.Size, ETag: NormalizeETag(o.ETag), Modified: o.LastModified}
	if l.versions {
		e.VersionID = o.VersionID
	}
	if o.HasMetadata {
		e.MetaKnown = true
		if v, ok := o.Meta(MetaSourceETag); ok {
			e.Recorded = NormalizeETag(v)
		}
	}
	return e
}

// sendPage sends p to out unless ctx ends first; it reports whether p was
// sent.
func sendPage(ctx context.Context, out chan<- page, p page) bool {
	select {
	case out <- p:
		return true
	case <-ctx.Done():
		return false
	}
}
