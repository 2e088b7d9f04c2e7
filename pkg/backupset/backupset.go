// Package backupset defines a backup set, the unit users back up, list,
// verify, restore and expire, and the files that make it up in the
// off-site bucket:
//
//	<sets>/<id>/fe-meta.tar.gz   the FE archive (its SHA-256 in the object's metadata)
//	<sets>/<id>/data.jsonl.gz    the data listing: every object the backup needs
//	<sets>/<id>/manifest.json    written last, never overwritten: its presence means complete
//	<data>/...                   the shared, incremental copy of the cluster's bucket
//
// The rules that make a set restorable live here, each in one place: the
// id (from the DAG run, so that retried tasks write into the same set), the
// listing's format and its completeness check (a header, sorted entries, a
// trailer with the counts), the manifest and when a set is consistent
// (Consistent), and which sets a retention policy keeps (policy.go).
// Reading and writing S3 is left to the callers (pkg/mirror, pkg/catalog).
package backupset

import (
	"fmt"
	"path"
	"regexp"
	"strings"
	"time"
)

// Default prefixes in the off-site bucket.
const (
	DefaultSetsPrefix = "backups/"
	DefaultDataPrefix = "data/"
)

// File names inside a set's folder.
const (
	ArchiveName  = "fe-meta.tar.gz"
	ListingName  = "data.jsonl.gz"
	ManifestName = "manifest.json"
)

// idLayout formats a time as a set id: 2026-11-29T01-00-00Z. Ids sort as
// their times do.
const idLayout = "2006-01-02T15-04-05Z"

var idPattern = regexp.MustCompile(`^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}-[0-9]{2}-[0-9]{2}Z([._-][A-Za-z0-9._-]{1,64})?$`)

// IDFor returns the set id of a backup that started (as a DAG run) at t.
func IDFor(t time.Time) string { return t.UTC().Format(idLayout) }

// CheckID reports whether id is a set id: a UTC time as IDFor writes it,
// optionally followed by a suffix ("2026-11-29T01-00-00Z-manual").
func CheckID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("backup id %q is not of the form 2026-11-29T01-00-00Z (an optional -suffix of letters, digits, '.', '_' or '-' may follow)", id)
	}
	if _, err := time.Parse(idLayout, id[:len(idLayout)]); err != nil {
		return fmt.Errorf("backup id %q does not hold a valid time: %v", id, err)
	}
	return nil
}

// IDTime returns the time an id names (zero when it is not an id).
func IDTime(id string) time.Time {
	if len(id) < len(idLayout) {
		return time.Time{}
	}
	t, err := time.Parse(idLayout, id[:len(idLayout)])
	if err != nil {
		return time.Time{}
	}
	return t
}

// Layout places sets in the off-site bucket.
type Layout struct {
	// Sets is the folder holding one folder per set ("backups/").
	Sets string
}

// NewLayout returns the layout for a sets prefix ("" means
// DefaultSetsPrefix); the prefix is a folder.
func NewLayout(sets string) Layout {
	sets = strings.TrimLeft(sets, "/")
	if sets == "" {
		sets = DefaultSetsPrefix
	}
	if !strings.HasSuffix(sets, "/") {
		sets += "/"
	}
	return Layout{Sets: sets}
}

// Folder returns the folder of a set: backups/<id>/.
func (l Layout) Folder(id string) string { return l.Sets + id + "/" }

// Archive returns the key of a set's FE archive.
func (l Layout) Archive(id string) string { return l.Folder(id) + ArchiveName }

// Listing returns the key of a set's data listing.
func (l Layout) Listing(id string) string { return l.Folder(id) + ListingName }

// Manifest returns the key of a set's manifest.
func (l Layout) Manifest(id string) string { return l.Folder(id) + ManifestName }

// ManifestBeside returns the key of the manifest of the set whose folder
// holds key: the manifest that, once written, makes key immutable.
func ManifestBeside(key string) string { return path.Join(path.Dir(key), ManifestName) }

// IDOf returns the set id of a key under the layout's folder ("" when the
// key is not in a set's folder).
func (l Layout) IDOf(key string) string {
	rest, ok := strings.CutPrefix(key, l.Sets)
	if !ok {
		return ""
	}
	id, _, ok := strings.Cut(rest, "/")
	if !ok || CheckID(id) != nil {
		return ""
	}
	return id
}
