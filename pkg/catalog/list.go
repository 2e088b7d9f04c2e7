package catalog

import (
	"context"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/bytesize"
)

// SetInfo is one set as list and latest report it.
type SetInfo struct {
	ID           string    `json:"id"`
	Status       string    `json:"status,omitempty"` // complete or incomplete (list only: latest reports complete sets)
	Created      time.Time `json:"created,omitzero"`
	Time         time.Time `json:"time"` // the set's point in time (its FE archive's start)
	FEArchiveKey string    `json:"fe_archive_key"`
	FEArchiveVer string    `json:"fe_archive_version_id,omitempty"`
	FESize       int64     `json:"fe_archive_size,omitempty"`
	FESHA256     string    `json:"fe_archive_sha256,omitempty"`
	ClusterID    string    `json:"cluster_id,omitempty"`
	ImageVersion *int64    `json:"image_version,omitempty"`
	// ManifestKey and Listings name the files a restore reads.
	ManifestKey string   `json:"manifest_key,omitempty"`
	Listings    []string `json:"data_listings,omitempty"`
	Objects     int64    `json:"data_objects"`
	Bytes       int64    `json:"data_bytes"`
	Consistent  bool     `json:"consistent"`
	Versioned   bool     `json:"versioned"`
	Warning     string   `json:"warning,omitempty"`
}

// unversionedWarning is shown on every set but the newest of an
// unversioned off-site bucket.
const unversionedWarning = "the off-site bucket kept no versions when this set was written: objects StarRocks rewrote " +
	"in place since (tablet metadata, SCHEMA files) may make it unrestorable; run catalog verify"

func info(w where, s set, newest bool) SetInfo {
	i := SetInfo{ID: s.ID, Status: Incomplete, Time: s.Time, FEArchiveKey: w.layout.Archive(s.ID)}
	m := s.Manifest
	if m == nil {
		return i
	}
	i.Status, i.Created, i.ManifestKey = Complete, m.Created, w.layout.Manifest(s.ID)
	i.FEArchiveKey, i.FEArchiveVer, i.FESize, i.FESHA256 = m.Archive.Key, m.Archive.VersionID, m.Archive.Size, m.Archive.SHA256
	i.ClusterID, i.ImageVersion = m.Archive.ClusterID, m.Archive.ImageVersion
	for _, l := range m.Listings {
		i.Listings = append(i.Listings, l.Key)
	}
	i.Objects, i.Bytes, i.Consistent, i.Versioned = m.Objects, m.Bytes, m.Consistent, m.Versioned
	switch {
	case !m.Consistent:
		i.Warning = "inconsistent: the data pass ended more than the vacuum grace period after the FE archive; files it needed may have been vacuumed first"
	case !m.Versioned && !newest:
		i.Warning = unversionedWarning
	}
	return i
}

// ListResult is catalog list's result.
type ListResult struct {
	Common
	Sets       []SetInfo `json:"sets"`
	Complete   int       `json:"complete"`
	Incomplete int       `json:"incomplete"`
}

// List returns every set, newest first, and logs one line per set.
func List(ctx context.Context, o Options) (*ListResult, error) {
	st, w, err := open(ctx, o)
	if err != nil {
		return nil, err
	}
	res := &ListResult{Sets: []SetInfo{}}
	sets, err := discover(ctx, st, w)
	res.Common = common(st, w)
	if err != nil {
		return res, err
	}
	newest := true
	log := zerolog.Ctx(ctx)
	for _, s := range sets {
		i := info(w, s, newest && s.complete())
		if s.complete() {
			newest = false
			res.Complete++
		} else {
			res.Incomplete++
		}
		res.Sets = append(res.Sets, i)
		ev := log.Info()
		if i.Warning != "" {
			ev = log.Warn().Str("warning", i.Warning)
		}
		ev.Str("id", i.ID).Str("status", i.Status).Bool("consistent", i.Consistent).Int64("objects", i.Objects).
			Str("size", bytesize.Format(i.Bytes+i.FESize)).Msg("backup set")
	}
	res.Common = common(st, w)
	return res, nil
}

// LatestResult is catalog latest's result: the chosen set.
type LatestResult struct {
	Common
	SetInfo
}

// Latest returns the newest complete set; only a consistent one unless
// allowInconsistent.
func Latest(ctx context.Context, o Options, allowInconsistent bool) (*LatestResult, error) {
	st, w, err := open(ctx, o)
	if err != nil {
		return nil, err
	}
	sets, err := discover(ctx, st, w)
	res := &LatestResult{Common: common(st, w)}
	if err != nil {
		return res, err
	}
	id := "latest"
	if allowInconsistent {
		id = "latest-any"
	}
	s, err := find(sets, id)
	if err != nil {
		return res, err
	}
	res.SetInfo = info(w, *s, s.ID == newestComplete(sets))
	res.Status = "" // always complete; the result line's own status says whether latest succeeded
	zerolog.Ctx(ctx).Info().Str("id", s.ID).Bool("consistent", res.Consistent).Msg("newest complete backup set")
	return res, nil
}

func newestComplete(sets []set) string {
	for _, s := range sets {
		if s.complete() {
			return s.ID
		}
	}
	return ""
}
