package catalog

import (
	"container/heap"
	"context"
	"io"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
)

// entrySource yields listing entries in key order; io.EOF at the end.
type entrySource interface {
	Next() (backupset.Entry, error)
}

// merged is a k-way merge of sorted entry sources: entries come in key
// order, entries of one key from several sources one after another.
type merged struct {
	h    entryHeap
	init bool
	srcs []entrySource
}

type headEntry struct {
	e   backupset.Entry
	src entrySource
}

type entryHeap []headEntry

func (h entryHeap) Len() int           { return len(h) }
func (h entryHeap) Less(i, j int) bool { return h[i].e.Key < h[j].e.Key }
func (h entryHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *entryHeap) Push(x any)        { *h = append(*h, x.(headEntry)) }
func (h *entryHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func mergeSources(srcs ...entrySource) *merged { return &merged{srcs: srcs} }

// Next returns the next entry of all sources, io.EOF when all are done.
func (m *merged) Next() (backupset.Entry, error) {
	if !m.init {
		m.init = true
		for _, s := range m.srcs {
			if err := m.pull(s); err != nil {
				return backupset.Entry{}, err
			}
		}
	}
	if m.h.Len() == 0 {
		return backupset.Entry{}, io.EOF
	}
	top := heap.Pop(&m.h).(headEntry)
	if err := m.pull(top.src); err != nil {
		return backupset.Entry{}, err
	}
	return top.e, nil
}

func (m *merged) pull(s entrySource) error {
	e, err := s.Next()
	if err == io.EOF {
		return nil
	}
	if err != nil {
		return err
	}
	heap.Push(&m.h, headEntry{e: e, src: s})
	return nil
}

// groupSource yields the data folder's entries one key at a time.
type groupSource interface {
	next(ctx context.Context) ([]version, error)
}

// sweep walks the data folder and the marks (the entries of every set
// kept) together and calls del for each object (with versions: each
// version) that no kept set lists and that is older than cutoff. Objects
// written since cutoff are kept whatever the marks say: a backup running
// now may list them before its manifest exists. It returns how many
// entries the data folder held (keys, or versions).
func sweep(ctx context.Context, data groupSource, marks entrySource, versioned bool, cutoff time.Time, del func(v version)) (int64, error) {
	var pending *backupset.Entry
	var seen int64
	for {
		group, err := data.next(ctx)
		if err != nil {
			return seen, err
		}
		if len(group) == 0 {
			// Drain the marks: a listing that fails now must fail the prune.
			for {
				if _, err := marks.Next(); err == io.EOF {
					return seen, nil
				} else if err != nil {
					return seen, err
				}
			}
		}
		key := group[0].Key
		seen += int64(len(group))
		// The marks of this key.
		current := false
		versions := map[string]bool{}
		for {
			if pending == nil {
				e, err := marks.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					return seen, err
				}
				pending = &e
			}
			if pending.Key > key {
				break
			}
			if pending.Key == key {
				if !versioned || pending.VersionID == "" {
					current = true
				} else {
					versions[pending.VersionID] = true
				}
			}
			pending = nil
		}
		for _, v := range group {
			keep := !v.Modified.Before(cutoff) || versions[v.VersionID] || (current && v.Latest)
			if !keep {
				del(v)
			}
		}
	}
}
