package catalog

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Prune safety margins.
const (
	// IncompleteGrace: an incomplete set younger than this may be a backup
	// still running; it is kept.
	IncompleteGrace = 24 * time.Hour
	// cutoffMargin is taken off the newest complete set's start before
	// data objects count as old enough to delete: clocks differ between
	// the worker that named the set and the S3 server.
	cutoffMargin = 15 * time.Minute
	// DefaultMaxDelete bounds the data objects (or versions) one prune
	// deletes.
	DefaultMaxDelete = 100000
)

// PruneOptions are catalog prune's own inputs.
type PruneOptions struct {
	Policy    backupset.Policy
	DryRun    bool
	MaxDelete int
	Now       func() time.Time // tests
}

// PruneResult is catalog prune's result.
type PruneResult struct {
	Common
	DryRun            bool              `json:"dry_run"`
	Kept              map[string]string `json:"kept"` // id: why
	Expired           []string          `json:"expired"`
	ExpiredIncomplete []string          `json:"expired_incomplete"`
	KeptIncomplete    []string          `json:"kept_incomplete"`
	Cutoff            time.Time         `json:"cutoff"`
	DataEntries       int64             `json:"data_entries"` // objects (versions) in the data folder
	Marked            int64             `json:"marked"`       // listing entries of the kept sets
	DataToDelete      int64             `json:"data_to_delete"`
	BytesToDelete     int64             `json:"bytes_to_delete"`
	SetFilesToDelete  int64             `json:"set_files_to_delete"`
	Deleted           int64             `json:"deleted"` // data objects (versions) and set files deleted
}

// Prune expires sets by the policy and deletes the data only they needed,
// mark and sweep (restic's model):
//
//  1. keep the sets the policy names (always the newest complete and the
//     newest consistent one) and the incomplete ones younger than a day;
//  2. mark: read the listing of every kept set, whole (a listing that
//     cannot be read stops the prune before anything is deleted);
//  3. sweep: data objects (versions) no kept listing names and written
//     before the newest complete set started are to be deleted; more than
//     MaxDelete stops the prune before anything is deleted;
//  4. delete the expired sets' manifests first (from then on no restore
//     can choose them), then their other files, then the swept data.
func Prune(ctx context.Context, o Options, p PruneOptions) (*PruneResult, error) {
	if err := p.Policy.Check(); err != nil {
		return nil, usage.Errorf("%v", err)
	}
	if p.Policy.Empty() {
		return nil, usage.Errorf("give a retention policy: --keep-last, --keep-daily, --keep-weekly or --keep-monthly")
	}
	if p.MaxDelete < 0 {
		return nil, usage.Errorf("--max-delete %d is negative", p.MaxDelete)
	}
	now := time.Now
	if p.Now != nil {
		now = p.Now
	}
	st, w, err := open(ctx, o)
	if err != nil {
		return nil, err
	}
	log := zerolog.Ctx(ctx)
	res := &PruneResult{DryRun: p.DryRun, Kept: map[string]string{}, Expired: []string{}, ExpiredIncomplete: []string{}, KeptIncomplete: []string{}}
	defer func() { res.Common = common(st, w) }()
	sets, err := discover(ctx, st, w)
	if err != nil {
		return res, err
	}
	var candidates []backupset.Candidate
	for _, s := range sets {
		if s.complete() {
			candidates = append(candidates, backupset.Candidate{ID: s.ID, Time: s.Time, Consistent: s.Manifest.Consistent})
		}
	}
	if len(candidates) == 0 {
		return res, fmt.Errorf("no complete backup set in %s: nothing to keep, so nothing is pruned", st.url(w.layout.Sets))
	}
	why := p.Policy.Apply(candidates)
	var kept []set
	var expired []set
	for _, s := range sets {
		switch {
		case s.complete() && why[s.ID] != "":
			res.Kept[s.ID] = why[s.ID]
			kept = append(kept, s)
		case s.complete():
			res.Expired = append(res.Expired, s.ID)
			expired = append(expired, s)
		case s.Time.IsZero() || now().Sub(s.Time) < IncompleteGrace:
			res.KeptIncomplete = append(res.KeptIncomplete, s.ID)
		default:
			res.ExpiredIncomplete = append(res.ExpiredIncomplete, s.ID)
			expired = append(expired, s)
		}
	}
	versioned, err := st.versioned(ctx)
	if err != nil {
		return res, err
	}
	res.Cutoff = candidates[0].Time.Add(-cutoffMargin) // the newest complete set's start

	// Mark and sweep, deleting nothing yet.
	var sources []entrySource
	var closers []io.Closer
	defer func() {
		for _, c := range closers {
			c.Close()
		}
	}()
	for _, s := range kept {
		for _, ref := range s.Manifest.Listings {
			src, c, err := openEntries(ctx, st, ref)
			if err != nil {
				return res, fmt.Errorf("cannot read %s (set %s): %w; nothing deleted", st.url(ref.Key), s.ID, err)
			}
			sources = append(sources, &counted{src, &res.Marked})
			closers = append(closers, c)
		}
	}
	var data []objectID
	err = func() error {
		_, err := sweep(ctx, &byKey{it: newObjects(st, w.data, versioned)}, mergeSources(sources...), versioned, res.Cutoff, func(v version) {
			res.DataToDelete++
			res.BytesToDelete += v.Size
			if len(data) <= p.MaxDelete {
				data = append(data, objectID{Key: w.data + v.Key, VersionID: v.VersionID})
			}
		})
		return err
	}()
	if err != nil {
		return res, fmt.Errorf("mark and sweep: %w; nothing deleted", err)
	}
	for _, c := range closers {
		c.Close()
	}
	closers = nil
	var manifests, files []objectID
	for _, s := range expired {
		ids, err := folderObjects(ctx, st, w.layout.Folder(s.ID), versioned)
		if err != nil {
			return res, fmt.Errorf("%w; nothing deleted", err)
		}
		for _, id := range ids {
			if id.Key == w.layout.Manifest(s.ID) {
				manifests = append(manifests, id)
			} else {
				files = append(files, id)
			}
		}
	}
	res.SetFilesToDelete = int64(len(manifests) + len(files))
	if res.DataToDelete > int64(p.MaxDelete) {
		return res, fmt.Errorf("%d data objects would be deleted, more than --max-delete %d: nothing deleted (raise --max-delete if this is expected)",
			res.DataToDelete, p.MaxDelete)
	}
	log.Info().Int("kept", len(kept)).Strs("expired", res.Expired).Strs("expired_incomplete", res.ExpiredIncomplete).
		Int64("marked", res.Marked).Int64("data_to_delete", res.DataToDelete).Int64("set_files_to_delete", res.SetFilesToDelete).
		Bool("dry_run", p.DryRun).Msg("prune decided")
	if p.DryRun {
		return res, nil
	}
	for _, batch := range [][]objectID{manifests, files, data} {
		n, err := st.remove(ctx, batch)
		res.Deleted += n
		if err != nil {
			return res, err
		}
	}
	log.Info().Int64("deleted", res.Deleted).Msg("pruned")
	return res, nil
}

// counted counts the entries read from a source.
type counted struct {
	entrySource
	n *int64
}

func (c *counted) Next() (backupset.Entry, error) {
	e, err := c.entrySource.Next()
	if err == nil {
		*c.n++
	}
	return e, err
}

// openEntries opens a committed listing for streaming; the reader checks
// order and completeness as it goes.
func openEntries(ctx context.Context, st *store, ref backupset.ListingRef) (entrySource, io.Closer, error) {
	body, _, err := st.get(ctx, ref.Key, ref.VersionID)
	if err != nil {
		return nil, nil, err
	}
	r, err := backupset.NewReader(body, st.url(ref.Key))
	if err != nil {
		body.Close()
		return nil, nil, err
	}
	return &checkedListing{r: r, ref: ref, name: st.url(ref.Key)}, body, nil
}

// checkedListing fails at its end when the listing is not the one
// committed.
type checkedListing struct {
	r    *backupset.Reader
	ref  backupset.ListingRef
	name string
}

func (c *checkedListing) Next() (backupset.Entry, error) {
	e, err := c.r.Next()
	if err == io.EOF {
		if _, sum := c.r.Sum(); sum != c.ref.SHA256 {
			return e, fmt.Errorf("%s is not the listing committed (sha256 %s, the manifest says %s)", c.name, sum, c.ref.SHA256)
		}
	}
	return e, err
}

// folderObjects lists every object (every version) under a set's folder.
func folderObjects(ctx context.Context, st *store, folder string, versioned bool) ([]objectID, error) {
	it := newObjects(st, folder, versioned)
	var ids []objectID
	for {
		v, err := it.next(ctx)
		if err != nil || v == nil {
			return ids, err
		}
		ids = append(ids, objectID{Key: folder + v.Key, VersionID: v.VersionID})
	}
}
