package backupset

import (
	"fmt"
	"sort"
	"time"
)

// Policy says which complete sets to keep, in the vocabulary of restic and
// borg: the Last newest sets, and the newest set of each of the Daily
// (Weekly, Monthly) most recent days (ISO weeks, months) that have sets.
// A set kept by any rule is kept. Zero everywhere keeps only the newest
// complete set, which every policy keeps.
type Policy struct {
	Last, Daily, Weekly, Monthly int
}

// Empty reports whether no rule is set.
func (p Policy) Empty() bool { return p.Last == 0 && p.Daily == 0 && p.Weekly == 0 && p.Monthly == 0 }

// Check refuses negative counts.
func (p Policy) Check() error {
	if p.Last < 0 || p.Daily < 0 || p.Weekly < 0 || p.Monthly < 0 {
		return fmt.Errorf("retention counts must not be negative (last %d, daily %d, weekly %d, monthly %d)", p.Last, p.Daily, p.Weekly, p.Monthly)
	}
	return nil
}

// Candidate is a complete set as the policy sees it.
type Candidate struct {
	ID         string
	Time       time.Time // the set's point in time (its FE archive)
	Consistent bool
}

// Apply returns, for each candidate, why it is kept ("" when it expires).
// Within a day (week, month), the newest consistent set is chosen over a
// newer inconsistent one, so that a rule never keeps only a set that may
// miss data. The newest complete set, and the newest consistent one, are
// always kept.
func (p Policy) Apply(sets []Candidate) map[string]string {
	s := append([]Candidate(nil), sets...)
	sort.Slice(s, func(i, j int) bool {
		if !s[i].Time.Equal(s[j].Time) {
			return s[i].Time.After(s[j].Time)
		}
		return s[i].ID > s[j].ID
	})
	why := make(map[string]string, len(s))
	for _, c := range s {
		why[c.ID] = ""
	}
	keep := func(id, reason string) {
		if why[id] == "" {
			why[id] = reason
		}
	}
	for i := 0; i < len(s) && i < p.Last; i++ {
		keep(s[i].ID, "last")
	}
	if len(s) > 0 {
		keep(s[0].ID, "newest")
	}
	for _, c := range s {
		if c.Consistent {
			keep(c.ID, "newest consistent")
			break
		}
	}
	bucketRule := func(n int, reason string, bucket func(time.Time) string) {
		if n <= 0 {
			return
		}
		var order []string
		chosen := map[string]Candidate{}
		for _, c := range s {
			b := bucket(c.Time)
			cur, seen := chosen[b]
			switch {
			case !seen:
				order = append(order, b)
				chosen[b] = c
			case !cur.Consistent && c.Consistent:
				chosen[b] = c
			}
		}
		for i, b := range order {
			if i >= n {
				break
			}
			keep(chosen[b].ID, reason)
		}
	}
	bucketRule(p.Daily, "daily", func(t time.Time) string { return t.UTC().Format("2006-01-02") })
	bucketRule(p.Weekly, "weekly", func(t time.Time) string {
		y, w := t.UTC().ISOWeek()
		return fmt.Sprintf("%d-W%02d", y, w)
	})
	bucketRule(p.Monthly, "monthly", func(t time.Time) string { return t.UTC().Format("2006-01") })
	return why
}
