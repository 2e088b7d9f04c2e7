package catalog

import (
	"context"
	"fmt"
	"sort"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/checksum"
	"github.com/starrocks-backup/srbackup/pkg/fe"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// VerifyResult is catalog verify's result.
type VerifyResult struct {
	Common
	ID             string   `json:"id"`
	Deep           bool     `json:"deep"`
	Checked        int64    `json:"checked"`    // listed objects checked
	Missing        int64    `json:"missing"`    // listed objects absent (or their recorded version)
	Mismatched     int64    `json:"mismatched"` // present with another size or content
	MissingKeys    []string `json:"missing_keys"`
	MismatchedKeys []string `json:"mismatched_keys"`
	ArchiveOK      bool     `json:"fe_archive_ok"`
	ListingsOK     bool     `json:"data_listings_ok"`
	// With Deep: what the archive holds.
	ArchiveSHA256 string `json:"fe_archive_sha256,omitempty"`
	Files         int    `json:"fe_files,omitempty"`
	JDBFiles      int    `json:"jdb_files,omitempty"`
	ImageVersion  *int64 `json:"image_version,omitempty"`
	ClusterID     string `json:"cluster_id,omitempty"`
	Restorable    bool   `json:"restorable"`
}

// Verify checks that a set can be restored: its FE archive is there with
// its recorded size and digest (with deep, streamed, its SHA-256 recomputed
// and its members checked), its listings are the ones committed, and every
// listed object is present at its recorded size and content (its recorded
// version on a versioned bucket). id is a set id or "latest".
func Verify(ctx context.Context, o Options, id string, deep bool) (*VerifyResult, error) {
	if err := checkSetID(id); err != nil {
		return &VerifyResult{ID: id, MissingKeys: []string{}, MismatchedKeys: []string{}}, err
	}
	st, w, err := open(ctx, o)
	if err != nil {
		return nil, err
	}
	res := &VerifyResult{ID: id, Deep: deep, MissingKeys: []string{}, MismatchedKeys: []string{}}
	defer func() { res.Common = common(st, w) }()
	sets, err := discover(ctx, st, w)
	if err != nil {
		return res, err
	}
	s, err := find(sets, id)
	if err != nil {
		return res, err
	}
	res.ID = s.ID
	if !s.complete() {
		return res, fmt.Errorf("backup set %s is incomplete (no manifest): it cannot be restored", s.ID)
	}
	m := s.Manifest
	if m.Target != w.dataTarget() {
		return res, fmt.Errorf("set %s's data is in %s, not %s (--data-prefix)", s.ID, m.Target, w.dataTarget())
	}
	log := zerolog.Ctx(ctx)
	if err := verifyArchive(ctx, st, m, deep, res); err != nil {
		return res, err
	}
	if err := verifyData(ctx, st, w, m, res); err != nil {
		return res, err
	}
	if n := res.Missing + res.Mismatched; n > 0 {
		return res, fmt.Errorf("backup set %s is not restorable: %s missing (first: %q), %s with other content (first: %q)",
			s.ID, plural(res.Missing, "object"), res.MissingKeys, plural(res.Mismatched, "object"), res.MismatchedKeys)
	}
	res.Restorable = true
	log.Info().Str("id", s.ID).Int64("checked", res.Checked).Bool("deep", deep).Msg("backup set verified: restorable")
	return res, nil
}

func verifyArchive(ctx context.Context, st *store, m *backupset.Manifest, deep bool, res *VerifyResult) error {
	a := m.Archive
	info, err := st.head(ctx, a.Key, a.VersionID)
	if err != nil {
		return err
	}
	switch {
	case info == nil:
		return fmt.Errorf("backup set %s is not restorable: its FE archive %s is gone", m.ID, st.url(a.Key))
	case info.Size != a.Size:
		return fmt.Errorf("backup set %s is not restorable: its FE archive %s has %d bytes, the manifest says %d", m.ID, st.url(a.Key), info.Size, a.Size)
	case checksum.Normalize(metaValue(info.Meta, "sha256")) != a.SHA256:
		return fmt.Errorf("backup set %s is not restorable: its FE archive %s carries sha256 %q, the manifest says %s",
			m.ID, st.url(a.Key), metaValue(info.Meta, "sha256"), a.SHA256)
	}
	if deep {
		body, _, err := st.get(ctx, a.Key, a.VersionID)
		if err != nil {
			return err
		}
		defer body.Close()
		sum, content, err := fe.ReadContent(body)
		if err != nil {
			return fmt.Errorf("backup set %s is not restorable: its FE archive %s: %w", m.ID, st.url(a.Key), s3conf.Explain(err, "read "+st.url(a.Key)))
		}
		res.ArchiveSHA256, res.Files, res.JDBFiles = sum.SHA256, content.Files, content.JDBFiles
		res.ImageVersion, res.ClusterID = content.ImageVersion, content.ClusterID
		if sum.SHA256 != a.SHA256 {
			return fmt.Errorf("backup set %s is not restorable: its FE archive's content has sha256 %s, the manifest says %s: %w",
				m.ID, sum.SHA256, a.SHA256, checksum.ErrMismatch)
		}
		if err := content.Check(); err != nil {
			return fmt.Errorf("backup set %s is not restorable: %w", m.ID, err)
		}
	}
	res.ArchiveOK = true
	return nil
}

// verifyData merges the set's listings (in key order) with a listing of
// the data folder.
func verifyData(ctx context.Context, st *store, w where, m *backupset.Manifest, res *VerifyResult) error {
	refs := append([]backupset.ListingRef(nil), m.Listings...)
	sort.Slice(refs, func(i, j int) bool { return refs[i].RangeStart < refs[j].RangeStart })
	data := &byKey{it: newObjects(st, w.data, m.Versioned)}
	var group []version
	started := false
	for _, ref := range refs {
		err := eachEntry(ctx, st, ref, func(e backupset.Entry) error {
			for !started || (group != nil && group[0].Key < e.Key) {
				started = true
				var err error
				if group, err = data.next(ctx); err != nil {
					return err
				}
			}
			res.Checked++
			switch problem := checkEntry(e, group, m.Versioned); problem {
			case "missing":
				res.Missing++
				addKey(&res.MissingKeys, w.data+e.Key)
			case "mismatched":
				res.Mismatched++
				addKey(&res.MismatchedKeys, w.data+e.Key)
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	res.ListingsOK = true
	return nil
}

// eachEntry streams a committed listing, checking it is the one committed.
func eachEntry(ctx context.Context, st *store, ref backupset.ListingRef, fn func(backupset.Entry) error) error {
	body, _, err := st.get(ctx, ref.Key, ref.VersionID)
	if err != nil {
		return err
	}
	defer body.Close()
	sum, err := backupset.ReadAll(body, st.url(ref.Key), fn)
	if err != nil {
		return err
	}
	if sum.SHA256 != ref.SHA256 {
		return fmt.Errorf("%s: %w: it is not the listing committed (sha256 %s, the manifest says %s)", st.url(ref.Key), checksum.ErrMismatch, sum.SHA256, ref.SHA256)
	}
	return nil
}

// checkEntry compares a listed object with the data folder's entries of
// its key (nil or another key: absent). It returns "", "missing" or
// "mismatched".
func checkEntry(e backupset.Entry, group []version, versioned bool) string {
	if len(group) == 0 || group[0].Key != e.Key {
		return "missing"
	}
	var v *version
	if versioned && e.VersionID != "" && e.VersionID != "null" {
		for i := range group {
			if group[i].VersionID == e.VersionID {
				v = &group[i]
				break
			}
		}
	} else {
		v = &group[0] // the current object
	}
	switch {
	case v == nil || v.DeleteMarker:
		return "missing"
	case v.Size != e.Size || (e.ETag != "" && v.ETag != e.ETag):
		return "mismatched"
	}
	return ""
}
