package mirror

import (
	"context"
	"sort"
	"strings"
	"sync"

	"github.com/starrocks-backup/srbackup/pkg/retry"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/s3list"
)

// Discovery finds how the keys of a range are spread without listing them
// all: delimiter listings ("/") walk the folders of the source
// (<service>/db<id>/<table>/<partition>/{data,meta,log}/ in StarRocks),
// a few at a time, largest estimate first, until a request budget is
// spent. What it learns is a sorted list of atoms: runs of objects it saw
// (exact counts), and the folders or rests of folders it did not open
// (estimated from the folders it did open at the same depth). Cuts between
// atoms tile the range into parts of balanced estimated size: the units a
// run lists in parallel (units.go) and the shards of a plan (shard.go).
// Keys written after the discovery fall into some part all the same: the
// parts tile the whole range, whatever the atoms say.

// atom is what lies from start up to the next atom's start.
type atom struct {
	start  string // relative key
	weight float64
}

// objectChunk is how many objects of a page make one atom: cuts fall
// between chunks.
const objectChunk = 100

// pageQuery is one ListObjectsV2 request; pageResult its answer, keys and
// common prefixes as full keys.
type pageQuery struct {
	prefix, startAfter, delimiter string
	max                           int
}

type pageResult struct {
	keys, prefixes []string
	truncated      bool
}

// pager sends one listing request (no retry).
type pager func(ctx context.Context, q pageQuery) (pageResult, error)

// listPager lists one bucket with an s3list client.
func listPager(cl *s3list.Client, bucket string) pager {
	return func(ctx context.Context, q pageQuery) (pageResult, error) {
		var p s3list.Page
		err := cl.ListPage(ctx, s3list.Query{Bucket: bucket, Prefix: q.prefix, Delimiter: q.delimiter, StartAfter: q.startAfter,
			MaxKeys: q.max}, &p)
		if err != nil {
			return pageResult{}, err
		}
		out := pageResult{prefixes: p.CommonPrefixes, truncated: p.Truncated}
		out.keys = make([]string, len(p.Objects))
		for i := range p.Objects {
			out.keys[i] = p.Objects[i].Key
		}
		return out, nil
	}
}

// node is a part of the range not looked into yet: a folder, or the rest
// of a folder whose listing was truncated.
type node struct {
	folder string   // relative folder listed ("" for the root)
	span   KeyRange // the part of the range it covers
	depth  int      // folder depth ('/' count)
	// A rest of a folder resumes its listing after the last entry seen
	// before (a start-after, never a continuation token: see
	// lister.pages); weight is what the page before it held.
	rest   bool
	after  string
	weight float64
}

// discovery is one run of the walk.
type discovery struct {
	list    pager
	loc     Location
	policy  retry.Policy
	workers int  // requests at once
	budget  int  // requests in all
	chase   bool // also list the rests of truncated folders
	target  int  // the most parts worth cutting (see parts)
	// partObjects is the fewest objects worth a part (0: minPartObjects).
	partObjects int
	chunk       int // objects of a page per atom (0: objectChunk)

	requests int
	atoms    []atom
	frontier []*node
	stats    map[statKey]*depthStats
}

// run walks the range and returns its atoms, sorted.
func (d *discovery) run(ctx context.Context, rng KeyRange) ([]atom, error) {
	root := rng.folder()
	d.stats = map[statKey]*depthStats{}
	d.frontier = []*node{{folder: root, span: rng, depth: strings.Count(root, "/")}}
	for d.requests < d.budget {
		batch := d.pick(min(d.workers, d.budget-d.requests))
		if len(batch) == 0 {
			break
		}
		pages := make([]pageResult, len(batch))
		errs := make([]error, len(batch))
		var wg sync.WaitGroup
		for i, n := range batch {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = d.policy.Do(ctx, func() (err error) {
					pages[i], err = d.list(ctx, d.query(n))
					return err
				})
			}()
		}
		wg.Wait()
		d.requests += len(batch)
		for i, n := range batch {
			if errs[i] != nil {
				return nil, s3conf.Explain(errs[i], "list the folders of source "+d.loc.URL(n.folder))
			}
			d.open(n, pages[i])
		}
	}
	atoms := d.atoms
	for _, n := range d.frontier {
		atoms = append(atoms, atom{start: n.span.Start, weight: d.estimate(n)})
	}
	sort.Slice(atoms, func(i, j int) bool { return atoms[i].start < atoms[j].start })
	return atoms, nil
}

// query is the request that opens n: its folder from the range's start,
// or the rest of its listing. When the start lies in a subfolder, the
// listing starts after that subfolder (open adds it): a delimiter listing
// never rolls keys up into a folder that sorts before its start-after.
func (d *discovery) query(n *node) pageQuery {
	q := pageQuery{prefix: d.loc.Prefix + n.folder, delimiter: "/", max: pageSize}
	switch {
	case n.rest:
		q.startAfter = d.loc.Prefix + n.after
	case startFolder(n) != "":
		q.startAfter = d.loc.Prefix + startFolder(n)
	case n.span.Start > n.folder:
		q.startAfter = d.loc.Prefix + n.span.startAfter()
	}
	return q
}

// startFolder is the subfolder of n's folder that holds the start of its
// span, when the span starts inside one ("" otherwise).
func startFolder(n *node) string {
	if n.rest || n.span.Start <= n.folder || !strings.HasPrefix(n.span.Start, n.folder) {
		return ""
	}
	j := strings.IndexByte(n.span.Start[len(n.folder):], '/')
	if j < 0 {
		return ""
	}
	return n.span.Start[:len(n.folder)+j+1]
}

// open records the page listed for n: its objects become atoms, its
// subfolders (those that reach into the range) and its rest new nodes.
func (d *discovery) open(n *node, p pageResult) {
	var sts [2]*depthStats
	for i, k := range []statKey{{n.depth, ""}, {n.depth, base(n.folder)}} {
		if sts[i] = d.stats[k]; sts[i] == nil {
			sts[i] = &depthStats{}
			d.stats[k] = sts[i]
		}
		if !n.rest {
			sts[i].folders++
		}
	}
	entries := mergeSorted(p.keys, p.prefixes)
	last, objs, subs := "", 0.0, 0.0
	after := n.after
	if f := startFolder(n); f != "" {
		after = f
		if sub, ok := (KeyRange{Start: f, End: prefixEnd(f)}).intersect(n.span); ok {
			subs++
			d.frontier = append(d.frontier, &node{folder: f, span: sub, depth: n.depth + 1})
		}
	}
	chunk := atom{}
	flush := func() {
		if chunk.weight > 0 {
			d.atoms = append(d.atoms, chunk)
			chunk = atom{}
		}
	}
	complete := !p.truncated
	for _, e := range entries {
		rel := e.key[len(d.loc.Prefix):]
		if !n.span.before(rel) {
			complete = true // the rest is past the range
			break
		}
		last = rel
		if !e.prefix {
			if rel < n.span.Start {
				continue
			}
			objs++
			if chunk.weight == 0 {
				chunk.start = rel
			}
			if chunk.weight++; chunk.weight >= float64(orDefault(d.chunk, objectChunk)) {
				flush()
			}
			continue
		}
		flush()
		if rel <= after {
			continue // listed already (some servers repeat a prefix after a token)
		}
		sub, ok := KeyRange{Start: rel, End: prefixEnd(rel)}.intersect(n.span)
		if !ok {
			continue
		}
		subs++
		d.frontier = append(d.frontier, &node{folder: rel, span: sub, depth: n.depth + 1})
	}
	flush()
	for _, st := range sts {
		st.objects += objs
		st.subfolders += subs
	}
	if complete || last == "" {
		return
	}
	// The rest of the folder: past the last entry (past every key under
	// it when it is a folder).
	start := last + "\x00"
	if strings.HasSuffix(last, "/") {
		start = prefixEnd(last)
	}
	if rest, ok := (KeyRange{Start: start}).intersect(n.span); ok {
		d.frontier = append(d.frontier, &node{folder: n.folder, span: rest, depth: n.depth,
			rest: true, after: max(last, after), weight: objs + subs*d.average(n.depth+1)})
	}
}

type listed struct {
	key    string
	prefix bool
}

// mergeSorted merges a page's keys and prefixes (each sorted) in key order.
func mergeSorted(keys, prefixes []string) []listed {
	out := make([]listed, 0, len(keys)+len(prefixes))
	i, j := 0, 0
	for i < len(keys) || j < len(prefixes) {
		if j >= len(prefixes) || (i < len(keys) && keys[i] < prefixes[j]) {
			out = append(out, listed{key: keys[i]})
			i++
		} else {
			out = append(out, listed{key: prefixes[j], prefix: true})
			j++
		}
	}
	return out
}
