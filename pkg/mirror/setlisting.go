package mirror

import (
	"bytes"
	"context"
	"fmt"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

// A backup (--manifest) records, for every source object of the copy
// pass, what the target holds for it once the pass is done: the data
// listing of a backup set (pkg/backupset). The merge reserves a slot per
// object in key order; the object's outcome fills it, from the merge (the
// same already), a worker (copied, or the same after a HEAD), or nothing
// (vanished: StarRocks vacuumed it, so the FE archive taken before does
// not need it). The units of the pass (units.go) are merged in parallel,
// each into its own queue of slots; a writer takes the queues in key order
// and the slots of each in order, so the listing comes out sorted while
// units and copies finish in any order. A unit's queue holds at most
// slotWindow / --list-workers slots (a unit that runs ahead of the writer
// waits), and a unit counts against --list-workers until its queue is
// written: at most slotWindow slots wait, whatever the number of objects.
const slotWindow = 1 << 16

// slotQueue is one unit's slots, in key order.
type slotQueue struct {
	ch      chan *slot
	drained chan struct{} // closed once the writer wrote (or skipped) every slot
	l       *setListing
}

// reserve takes the unit's next slot, in key order (its merge goroutine);
// nil-safe: a pass without a listing has no queue.
func (q *slotQueue) reserve(ctx context.Context) (*slot, error) {
	if q == nil {
		return nil, nil
	}
	s := &slot{done: make(chan struct{})}
	select {
	case q.ch <- s:
		return s, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-q.l.stopped:
		return nil, q.l.err
	}
}

// end tells the writer the unit has no more slots (nil-safe).
func (q *slotQueue) end() {
	if q != nil {
		close(q.ch)
	}
}

// wait returns once the writer is done with the queue, or ctx ended.
func (q *slotQueue) wait(ctx context.Context) {
	if q == nil {
		return
	}
	select {
	case <-q.drained:
	case <-ctx.Done():
	case <-q.l.stopped:
	}
}

// slot is one source object's place in the listing.
type slot struct {
	done  chan struct{}
	entry backupset.Entry
	skip  bool // nothing to record: the object vanished or failed
}

// fill records what the target holds for the object (nil-safe: the verify
// pass and runs without --manifest have no slots).
func (s *slot) fill(e backupset.Entry) {
	if s != nil {
		s.entry = e
		close(s.done)
	}
}

// drop leaves the object out of the listing.
func (s *slot) drop() {
	if s != nil {
		s.skip = true
		close(s.done)
	}
}

// setListing writes the listing while the copy pass runs, into an upload
// completed only after the whole run succeeded.
type setListing struct {
	key    string
	queues chan *slotQueue
	perQ   int // slots a queue holds
	quit   chan struct{}
	done   chan error // the writer's end
	// stopped is closed when the writer returns, err then being why
	// (errListingAbandoned after the last queue): units stop waiting.
	stopped chan struct{}
	err     error
	w       *backupset.Writer
	up      *partUpload
	doneAt  time.Time
}

// beginListing checks that the set is not committed yet, finds out whether
// the target keeps versions (then the target is listed with them, and
// each entry records its version), and starts the listing.
func (r *run) beginListing(ctx context.Context) error {
	guard := backupset.ManifestBeside(r.o.Manifest)
	_, err := r.dstCl.StatObject(ctx, r.dst.Bucket, guard, minio.StatObjectOptions{})
	switch {
	case err == nil:
		return fmt.Errorf("the backup set of %s is already committed (s3://%s/%s exists): a committed set never changes; "+
			"use a new backup id", r.o.Manifest, r.dst.Bucket, guard)
	case s3conf.KindOf(s3conf.Explain(err, "")) != s3conf.NoSuchKey:
		return s3conf.Explain(err, "read target s3://"+r.dst.Bucket+"/"+guard)
	}
	cfg, err := r.dstCl.GetBucketVersioning(ctx, r.dst.Bucket)
	if err != nil {
		return s3conf.Explain(err, "read the versioning of target bucket "+r.dst.Bucket)
	}
	r.targetVersions = cfg.Enabled()
	r.listing, err = r.startListing(ctx, r.targetVersions)
	if !r.targetVersions {
		zerolog.Ctx(ctx).Warn().Str("bucket", r.dst.Bucket).Msg("the target bucket keeps no versions: objects StarRocks rewrites " +
			"in place (tablet metadata, SCHEMA files) will make older backup sets unrestorable; turn versioning on")
	}
	return err
}

// commitListing writes the listing, now that the run succeeded.
func (r *run) commitListing(ctx context.Context) error {
	r.listingDone = true
	if r.listing == nil {
		return nil
	}
	if err := r.listing.commit(ctx); err != nil {
		r.listing.abort(ctx)
		return err
	}
	n, b := r.listing.w.Count()
	zerolog.Ctx(ctx).Info().Str("key", r.o.Manifest).Int64("objects", n).Int64("bytes", b).Bool("versioned", r.targetVersions).
		Msg("backup set listing written")
	return nil
}

// startListing starts writing the listing to key in the target bucket.
func (r *run) startListing(ctx context.Context, versioned bool) (*setListing, error) {
	l := &setListing{key: r.o.Manifest, queues: make(chan *slotQueue, r.listWorkers), perQ: orDefault(r.o.queueSlots, max(pageSize, slotWindow/r.listWorkers)),
		quit: make(chan struct{}), done: make(chan error, 1), stopped: make(chan struct{}),
		up: &partUpload{cl: r.dstCl, bucket: r.dst.Bucket, key: r.o.Manifest, partSize: defaultPartSize}}
	var err error
	l.w, err = backupset.NewWriter(l.up, backupset.Header{
		Source: r.src.String(), SourceEndpoint: r.srcCfg.String(), Target: r.dst.String(), TargetEndpoint: r.dstCfg.String(),
		Versioned: versioned, StartedAt: r.start.UTC(), RangeStart: r.rng.Start, RangeEnd: r.rng.End,
	})
	if err != nil {
		return nil, err
	}
	go func() {
		err := l.write(ctx)
		l.err = err
		if err == nil {
			l.err = errListingAbandoned // nothing may be reserved once the queues are closed
		}
		close(l.stopped)
		l.done <- err
	}()
	return l, nil
}

// queue returns the queue of the next unit, in key order (nil-safe).
func (l *setListing) queue(ctx context.Context) (*slotQueue, error) {
	if l == nil {
		return nil, nil
	}
	q := &slotQueue{ch: make(chan *slot, l.perQ), drained: make(chan struct{}), l: l}
	select {
	case l.queues <- q:
		return q, nil
	case <-ctx.Done():
		return nil, context.Cause(ctx)
	case <-l.stopped:
		return nil, l.err
	}
}

// write adds the filled slots to the listing, queue after queue, in order.
func (l *setListing) write(ctx context.Context) error {
	for q := range l.queues {
		for s := range q.ch {
			select {
			case <-s.done:
			case <-l.quit:
				return errListingAbandoned
			case <-ctx.Done():
				return context.Cause(ctx)
			}
			if s.skip {
				continue
			}
			if err := l.w.Add(s.entry); err != nil {
				return err
			}
		}
		close(q.drained)
	}
	return nil
}

var errListingAbandoned = fmt.Errorf("the backup set's listing was abandoned")

// passDone is called when the copy pass has ended: every slot is filled
// (or the pass failed, and the listing is abandoned).
func (l *setListing) passDone(ok bool) error {
	if l == nil {
		return nil
	}
	if !ok {
		close(l.quit)
	}
	close(l.queues)
	err := <-l.done
	l.doneAt = time.Now().UTC()
	return err
}

// commit closes the listing and completes its upload: it appears only now,
// after the whole run succeeded.
func (l *setListing) commit(ctx context.Context) error {
	if err := l.w.Close(l.doneAt); err != nil {
		return err
	}
	return l.up.complete(ctx)
}

// abort removes what the upload wrote so far.
func (l *setListing) abort(ctx context.Context) {
	if l != nil {
		l.up.abort(ctx)
	}
}

// entry is what the listing records for a source object the target
// already held.
func listingEntry(src Entry, dst *Entry) backupset.Entry {
	return backupset.Entry{Key: src.Key, Size: src.Size, SourceETag: src.ETag, ETag: dst.ETag, VersionID: dst.VersionID}
}

// partUpload is an io.Writer into a multipart upload that becomes an
// object only when completed; a listing small enough for one part is put
// whole at completion.
type partUpload struct {
	cl       *minio.Client
	bucket   string
	key      string
	partSize int
	buf      bytes.Buffer
	id       string
	parts    []minio.CompletePart
	size     int64
	info     minio.UploadInfo
}

func (u *partUpload) Write(p []byte) (int, error) {
	u.buf.Write(p)
	u.size += int64(len(p))
	if u.buf.Len() >= u.partSize {
		if err := u.flush(context.Background()); err != nil {
			return 0, err
		}
	}
	return len(p), nil
}

func (u *partUpload) flush(ctx context.Context) error {
	core := minio.Core{Client: u.cl}
	if u.id == "" {
		id, err := core.NewMultipartUpload(ctx, u.bucket, u.key, minio.PutObjectOptions{ContentType: "application/gzip"})
		if err != nil {
			return s3conf.Explain(err, "write the backup set's listing s3://"+u.bucket+"/"+u.key)
		}
		u.id = id
	}
	n := len(u.parts) + 1
	p, err := core.PutObjectPart(ctx, u.bucket, u.key, u.id, n, bytes.NewReader(u.buf.Bytes()), int64(u.buf.Len()), minio.PutObjectPartOptions{})
	if err != nil {
		return s3conf.Explain(err, "write the backup set's listing s3://"+u.bucket+"/"+u.key)
	}
	u.parts = append(u.parts, minio.CompletePart{PartNumber: n, ETag: p.ETag})
	u.buf.Reset()
	return nil
}

func (u *partUpload) complete(ctx context.Context) error {
	what := "write the backup set's listing s3://" + u.bucket + "/" + u.key
	if u.id == "" {
		info, err := u.cl.PutObject(ctx, u.bucket, u.key, bytes.NewReader(u.buf.Bytes()), int64(u.buf.Len()),
			minio.PutObjectOptions{ContentType: "application/gzip", DisableMultipart: true})
		u.info = info
		return s3conf.Explain(err, what)
	}
	if u.buf.Len() > 0 {
		if err := u.flush(ctx); err != nil {
			return err
		}
	}
	info, err := minio.Core{Client: u.cl}.CompleteMultipartUpload(ctx, u.bucket, u.key, u.id, u.parts, minio.PutObjectOptions{})
	u.info = info
	return s3conf.Explain(err, what)
}

func (u *partUpload) abort(ctx context.Context) {
	if u.id == "" {
		return
	}
	actx, cancel := taskrun.CleanupContext(ctx, abortTimeout)
	defer cancel()
	if err := (minio.Core{Client: u.cl}).AbortMultipartUpload(actx, u.bucket, u.key, u.id); err != nil {
		zerolog.Ctx(ctx).Warn().Str("key", u.key).Str("error", err.Error()).Msg("could not abort the listing's multipart upload")
	}
}
