package backupset

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"
)

// ManifestFormat is the version of manifest.json.
const ManifestFormat = 1

// DefaultVacuumGrace is StarRocks' default lake_autovacuum_grace_period_minutes.
const DefaultVacuumGrace = 30 * time.Minute

// Manifest is a set's manifest.json, written last: its presence means the
// set is complete. It records the facts a restore, a verify and a prune
// need without reading anything else first.
type Manifest struct {
	Format      int       `json:"manifest_format"`
	ID          string    `json:"id"`
	Created     time.Time `json:"created"` // when the set was committed
	ToolVersion string    `json:"tool_version"`
	// Source is the cluster's location (s3://bucket/prefix/) and its
	// server; Target the off-site data folder the listings are relative to.
	Source         string `json:"source"`
	SourceEndpoint string `json:"source_endpoint,omitempty"`
	Target         string `json:"target"`
	TargetEndpoint string `json:"target_endpoint,omitempty"`
	// Versioned tells whether the off-site bucket kept versions when the
	// data was copied. Without versions, objects rewritten in place
	// later (tablet metadata, SCHEMA files) make an older set unrestorable.
	Versioned bool         `json:"versioned"`
	Archive   ArchiveFacts `json:"fe_archive"`
	Listings  []ListingRef `json:"data_listings"`
	Objects   int64        `json:"data_objects"`
	Bytes     int64        `json:"data_bytes"`
	// FEArchivedAt is when the FE archive was started, DataDoneAt when the
	// data pass completed; Consistent tells that the second came within
	// VacuumGrace of the first (see Consistent).
	FEArchivedAt time.Time `json:"fe_archived_at"`
	DataDoneAt   time.Time `json:"data_done_at"`
	VacuumGrace  Duration  `json:"vacuum_grace"`
	Consistent   bool      `json:"consistent"`
	Warnings     []string  `json:"warnings,omitempty"`
}

// ArchiveFacts describes a set's FE archive.
type ArchiveFacts struct {
	Key          string `json:"key"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
	VersionID    string `json:"version_id,omitempty"`
	ClusterID    string `json:"cluster_id,omitempty"`
	ImageVersion *int64 `json:"image_version,omitempty"`
}

// ListingRef describes one data listing of a set (one per shard).
type ListingRef struct {
	Key        string `json:"key"`
	Size       int64  `json:"size"`
	SHA256     string `json:"sha256"`
	VersionID  string `json:"version_id,omitempty"`
	Objects    int64  `json:"objects"`
	Bytes      int64  `json:"bytes"`
	RangeStart string `json:"range_start,omitempty"`
	RangeEnd   string `json:"range_end,omitempty"`
}

// Duration is a time.Duration written as text ("30m0s") in JSON.
type Duration time.Duration

// MarshalJSON writes the duration as text.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON reads the text form.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

// Consistent is the rule that makes a set consistent. StarRocks deletes a
// data file no earlier than VacuumGrace after the file stops being
// referenced by the current metadata. Every file the FE archive started at
// archivedAt references was still referenced then, so it cannot have been
// deleted before archivedAt + grace. When the data pass completed by then,
// each of those files was copied or found present off-site before it could
// be vacuumed: the set holds everything its metadata needs. Past the
// window, a file may have been vacuumed before the pass reached it.
func Consistent(archivedAt, dataDoneAt time.Time, grace time.Duration) bool {
	if archivedAt.IsZero() || dataDoneAt.IsZero() || grace <= 0 {
		return false
	}
	return !dataDoneAt.Before(archivedAt) && dataDoneAt.Sub(archivedAt) <= grace
}

// ErrBadManifest marks a manifest.json that does not describe a set.
var ErrBadManifest = errors.New("not a valid manifest")

// Encode writes the manifest as indented JSON with a final newline.
func (m *Manifest) Encode() ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(m); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DecodeManifest reads and checks a manifest; name describes it in errors.
func DecodeManifest(b []byte, name string) (*Manifest, error) {
	var m Manifest
	dec := json.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadManifest, name, err)
	}
	if err := m.Check(); err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadManifest, name, err)
	}
	return &m, nil
}

// Check reports what makes the manifest unusable.
func (m *Manifest) Check() error {
	switch {
	case m.Format != ManifestFormat:
		return fmt.Errorf("format %d, this tool reads %d", m.Format, ManifestFormat)
	case CheckID(m.ID) != nil:
		return CheckID(m.ID)
	case m.Archive.Key == "" || len(m.Archive.SHA256) != 64:
		return errors.New("no FE archive with a SHA-256")
	case len(m.Listings) == 0:
		return errors.New("no data listing")
	}
	return CheckTiling(m.Listings)
}

// CheckTiling checks that listings, sorted by their ranges, cover the
// whole key space once: each starts where the previous ended, the first
// at "" and the last unbounded. Shards that overlap or leave a gap would
// make a set claim objects twice or miss some.
func CheckTiling(refs []ListingRef) error {
	rs := append([]ListingRef(nil), refs...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].RangeStart < rs[j].RangeStart })
	want := ""
	for i, r := range rs {
		if r.RangeStart != want {
			if r.RangeStart < want {
				return fmt.Errorf("listings %s and %s overlap at %q", rs[i-1].Key, r.Key, r.RangeStart)
			}
			return fmt.Errorf("no listing covers keys from %q to %q", want, r.RangeStart)
		}
		if r.RangeEnd == "" {
			if i != len(rs)-1 {
				return fmt.Errorf("listing %s is unbounded but %s follows it", r.Key, rs[i+1].Key)
			}
			return nil
		}
		if r.RangeEnd <= r.RangeStart {
			return fmt.Errorf("listing %s has an empty range [%q, %q)", r.Key, r.RangeStart, r.RangeEnd)
		}
		want = r.RangeEnd
	}
	return fmt.Errorf("no listing covers keys from %q on", want)
}
