package catalog

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/checksum"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// CommitOptions are catalog commit's own inputs.
type CommitOptions struct {
	ID string
	// FESHA256 is the archive's expected digest (s3-upload's); empty means
	// the digest stored in the object's metadata.
	FESHA256 string
	// FEArchivedAt is when fe-archive started: the set's point in time.
	FEArchivedAt time.Time
	// Listings are the keys of the set's data listings (one per shard);
	// empty means the set's data.jsonl.gz.
	Listings    []string
	VacuumGrace time.Duration
	// ClusterID and ImageVersion (fe-archive's) are recorded as given.
	ClusterID    string
	ImageVersion int64 // < 0: unknown
	// ToolVersion and Now are filled by the caller (tests set Now).
	ToolVersion string
	Now         func() time.Time
}

// CommitResult is catalog commit's result.
type CommitResult struct {
	Common
	ID               string   `json:"id"`
	ManifestKey      string   `json:"manifest_key"`
	AlreadyCommitted bool     `json:"already_committed"`
	Consistent       bool     `json:"consistent"`
	Versioned        bool     `json:"versioned"`
	Objects          int64    `json:"data_objects"`
	Bytes            int64    `json:"data_bytes"`
	FEArchivedAt     string   `json:"fe_archived_at"`
	DataDoneAt       string   `json:"data_done_at"`
	Gap              string   `json:"gap"` // data_done_at - fe_archived_at
	Warnings         []string `json:"warnings,omitempty"`
}

func (c CommitOptions) check() error {
	if err := backupset.CheckID(c.ID); err != nil {
		return usage.Errorf("--id: %v", err)
	}
	if c.FESHA256 != "" && !checksum.IsSHA256(checksum.Normalize(c.FESHA256)) {
		return usage.Errorf("--fe-sha256 %q is not a hex SHA-256", c.FESHA256)
	}
	if c.FEArchivedAt.IsZero() {
		return usage.Errorf("--fe-archived-at is required (fe-archive's started_at): consistency is measured from it")
	}
	if c.VacuumGrace <= 0 {
		return usage.Errorf("--vacuum-grace %s must be positive (StarRocks' lake_autovacuum_grace_period_minutes)", c.VacuumGrace)
	}
	return nil
}

// Commit checks that the set's FE archive and data listings exist and are
// whole, then writes its manifest, last and only once (If-None-Match).
// Committing a set again with the same archive and listings succeeds
// without writing (a retried task); with other ones it fails.
func Commit(ctx context.Context, o Options, c CommitOptions) (*CommitResult, error) {
	log := zerolog.Ctx(ctx)
	if err := c.check(); err != nil {
		return nil, err
	}
	st, w, err := open(ctx, o)
	if err != nil {
		return nil, err
	}
	res := &CommitResult{ID: c.ID, ManifestKey: w.layout.Manifest(c.ID)}
	defer func() { res.Common = common(st, w) }()
	m, err := buildManifest(ctx, st, w, c)
	if err != nil {
		return res, err
	}
	res.Consistent, res.Versioned, res.Objects, res.Bytes = m.Consistent, m.Versioned, m.Objects, m.Bytes
	res.FEArchivedAt, res.DataDoneAt = m.FEArchivedAt.Format(time.RFC3339), m.DataDoneAt.Format(time.RFC3339)
	res.Gap, res.Warnings = m.DataDoneAt.Sub(m.FEArchivedAt).Round(time.Second).String(), m.Warnings
	body, err := m.Encode()
	if err != nil {
		return res, err
	}
	if _, err := st.putNew(ctx, res.ManifestKey, body, "application/json"); err != nil {
		if !errors.Is(err, errExists) {
			return res, err
		}
		old, rerr := readManifest(ctx, st, w, c.ID)
		if rerr != nil {
			return res, rerr
		}
		if old == nil || !sameSet(old, m) {
			return res, fmt.Errorf("backup set %s is already committed with another FE archive or data listing: a committed set is never rewritten", c.ID)
		}
		res.AlreadyCommitted, res.Consistent = true, old.Consistent
		log.Info().Str("id", c.ID).Msg("backup set was already committed with the same archive and listings")
		return res, nil
	}
	for _, warn := range m.Warnings {
		log.Warn().Str("id", c.ID).Msg(warn)
	}
	log.Info().Str("id", c.ID).Bool("consistent", m.Consistent).Int64("objects", m.Objects).Str("gap", res.Gap).
		Str("manifest", st.url(res.ManifestKey)).Msg("backup set committed")
	return res, nil
}

// sameSet tells whether two manifests describe the same archive and data.
func sameSet(a, b *backupset.Manifest) bool {
	if a.Archive.SHA256 != b.Archive.SHA256 || len(a.Listings) != len(b.Listings) {
		return false
	}
	for i := range a.Listings {
		if a.Listings[i].Key != b.Listings[i].Key || a.Listings[i].SHA256 != b.Listings[i].SHA256 {
			return false
		}
	}
	return true
}

// buildManifest reads what the set holds and describes it.
func buildManifest(ctx context.Context, st *store, w where, c CommitOptions) (*backupset.Manifest, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	m := &backupset.Manifest{Format: backupset.ManifestFormat, ID: c.ID, ToolVersion: c.ToolVersion,
		FEArchivedAt: c.FEArchivedAt.UTC(), VacuumGrace: backupset.Duration(c.VacuumGrace), Target: w.dataTarget()}
	key := w.layout.Archive(c.ID)
	a, err := st.head(ctx, key, "")
	if err != nil {
		return nil, err
	}
	if a == nil {
		return nil, fmt.Errorf("backup set %s has no FE archive at %s: nothing committed", c.ID, st.url(key))
	}
	stored := checksum.Normalize(metaValue(a.Meta, "sha256"))
	want := checksum.Normalize(c.FESHA256)
	switch {
	case stored == "" && want == "":
		return nil, fmt.Errorf("%s carries no sha256 and none was given (--fe-sha256): nothing committed", st.url(key))
	case want != "" && stored != "" && stored != want:
		return nil, fmt.Errorf("%s: %w: its stored sha256 is %s, expected %s: nothing committed", st.url(key), checksum.ErrMismatch, stored, want)
	}
	m.Archive = backupset.ArchiveFacts{Key: key, Size: a.Size, SHA256: cmp.Or(want, stored), VersionID: a.VersionID, ClusterID: c.ClusterID}
	if c.ImageVersion >= 0 {
		v := c.ImageVersion
		m.Archive.ImageVersion = &v
	}
	listings := c.Listings
	if len(listings) == 0 {
		listings = []string{w.layout.Listing(c.ID)}
	}
	for _, lk := range listings {
		if !strings.HasPrefix(lk, w.layout.Folder(c.ID)) {
			return nil, usage.Errorf("--data-listing %s is not in the set's folder %s", lk, w.layout.Folder(c.ID))
		}
		ref, sum, err := readListing(ctx, st, lk, "")
		if err != nil {
			return nil, fmt.Errorf("%w: nothing committed", err)
		}
		if sum.Header.Target != w.dataTarget() {
			return nil, fmt.Errorf("%s lists objects of %s, not of %s (--data-prefix): nothing committed", st.url(lk), sum.Header.Target, w.dataTarget())
		}
		if len(m.Listings) == 0 {
			m.Source, m.SourceEndpoint, m.TargetEndpoint, m.Versioned = sum.Header.Source, sum.Header.SourceEndpoint, sum.Header.TargetEndpoint, sum.Header.Versioned
		} else if sum.Header.Source != m.Source || sum.Header.Versioned != m.Versioned {
			return nil, fmt.Errorf("the listings of set %s disagree on their source or versioning: nothing committed", c.ID)
		}
		m.Listings = append(m.Listings, *ref)
		m.Objects += ref.Objects
		m.Bytes += ref.Bytes
		if sum.Trailer.DoneAt.After(m.DataDoneAt) {
			m.DataDoneAt = sum.Trailer.DoneAt
		}
	}
	slices.SortFunc(m.Listings, func(a, b backupset.ListingRef) int { return strings.Compare(a.RangeStart, b.RangeStart) })
	if err := backupset.CheckTiling(m.Listings); err != nil {
		return nil, fmt.Errorf("the data listings of set %s do not cover the key space once: %v: nothing committed", c.ID, err)
	}
	m.Consistent = backupset.Consistent(m.FEArchivedAt, m.DataDoneAt, c.VacuumGrace)
	if !m.Consistent {
		m.Warnings = append(m.Warnings, fmt.Sprintf("inconsistent: the data pass completed %s after the FE archive started, past the vacuum grace period %s: "+
			"files the archive references may have been vacuumed before they were copied; catalog latest skips this set",
			m.DataDoneAt.Sub(m.FEArchivedAt).Round(time.Second), c.VacuumGrace))
	}
	if versioned, err := st.versioned(ctx); err == nil && versioned != m.Versioned {
		m.Warnings = append(m.Warnings, fmt.Sprintf("the bucket's versioning (%v) differs from what the data pass saw (%v)", versioned, m.Versioned))
	}
	if !m.Versioned {
		m.Warnings = append(m.Warnings, "the off-site bucket keeps no versions: once StarRocks rewrites objects this set lists, only the newest set stays restorable; turn versioning on")
	}
	m.Created = now().UTC()
	return m, nil
}

// readListing reads a whole listing (at versionID when given) and
// describes it.
func readListing(ctx context.Context, st *store, key, versionID string) (*backupset.ListingRef, *backupset.Summary, error) {
	body, info, err := st.get(ctx, key, versionID)
	if err != nil {
		return nil, nil, err
	}
	defer body.Close()
	sum, err := backupset.ReadAll(body, st.url(key), nil)
	if err != nil {
		return nil, nil, err
	}
	return &backupset.ListingRef{Key: key, Size: sum.Size, SHA256: sum.SHA256, VersionID: info.VersionID, Objects: sum.Trailer.Objects,
		Bytes: sum.Trailer.Bytes, RangeStart: sum.Header.RangeStart, RangeEnd: sum.Header.RangeEnd}, sum, nil
}

// metaValue finds a user-metadata value whatever the case of its key.
func metaValue(meta map[string]string, key string) string {
	for k, v := range meta {
		if strings.EqualFold(k, key) {
			return v
		}
	}
	return ""
}
