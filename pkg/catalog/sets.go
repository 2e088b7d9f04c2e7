package catalog

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Statuses of a set.
const (
	Complete   = "complete"
	Incomplete = "incomplete"
)

// maxManifest bounds the size of a manifest read.
const maxManifest = 16 << 20

// set is one folder under the sets prefix.
type set struct {
	ID       string
	Manifest *backupset.Manifest // nil: incomplete
	// Time is the set's point in time: its FE archive's start when
	// committed, else the time its id names.
	Time time.Time
}

func (s set) complete() bool { return s.Manifest != nil }

// discover lists the sets, newest first, reading every manifest. A
// manifest that cannot be read or parsed is an error: a catalog that
// silently skipped it could prune the data a complete set needs.
func discover(ctx context.Context, st *store, w where) ([]set, error) {
	folders, err := st.folders(ctx, w.layout.Sets)
	if err != nil {
		return nil, err
	}
	var sets []set
	for _, f := range folders {
		id := strings.TrimSuffix(strings.TrimPrefix(f, w.layout.Sets), "/")
		if backupset.CheckID(id) != nil {
			continue // not a set's folder
		}
		s := set{ID: id, Time: backupset.IDTime(id)}
		m, err := readManifest(ctx, st, w, id)
		if err != nil {
			return nil, err
		}
		if m != nil {
			s.Manifest = m
			if !m.FEArchivedAt.IsZero() {
				s.Time = m.FEArchivedAt
			}
		}
		sets = append(sets, s)
	}
	sort.Slice(sets, func(i, j int) bool {
		if !sets[i].Time.Equal(sets[j].Time) {
			return sets[i].Time.After(sets[j].Time)
		}
		return sets[i].ID > sets[j].ID
	})
	return sets, nil
}

// readManifest returns the set's manifest, nil when it has none.
func readManifest(ctx context.Context, st *store, w where, id string) (*backupset.Manifest, error) {
	key := w.layout.Manifest(id)
	info, err := st.head(ctx, key, "")
	if err != nil || info == nil {
		return nil, err
	}
	b, _, err := st.getSmall(ctx, key, maxManifest)
	if err != nil {
		return nil, err
	}
	m, err := backupset.DecodeManifest(b, st.url(key))
	if err != nil {
		return nil, err
	}
	if m.ID != id {
		return nil, fmt.Errorf("%s names the set %q", st.url(key), m.ID)
	}
	return m, nil
}

// checkSetID refuses, before any request, an id that is neither a set id
// nor "latest" / "latest-any" (a usage error: exit 2).
func checkSetID(id string) error {
	if id == "latest" || id == "latest-any" {
		return nil
	}
	if err := backupset.CheckID(id); err != nil {
		return usage.Errorf("--id: %v", err)
	}
	return nil
}

// find returns the set with this id ("latest": the newest complete and
// consistent one; "latest-any": the newest complete one), checked by
// checkSetID.
func find(sets []set, id string) (*set, error) {
	switch id {
	case "latest", "latest-any":
		for i := range sets {
			if sets[i].complete() && (sets[i].Manifest.Consistent || id == "latest-any") {
				return &sets[i], nil
			}
		}
		return nil, fmt.Errorf("no complete%s backup set", map[bool]string{true: " and consistent"}[id == "latest"])
	}
	for i := range sets {
		if sets[i].ID == id {
			return &sets[i], nil
		}
	}
	return nil, fmt.Errorf("no backup set %s", id)
}
