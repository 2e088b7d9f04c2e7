package mirror

import (
	"hash/fnv"
	"sort"
	"strings"
)

// How the discovery (discover.go) guesses what it has not listed, and so
// which node it opens next: the folders it opened, summed by depth (and
// by name), stand for the others of their depth.

// depthStats sums what the opened folders of one depth held: all of them
// (name ""), and those of one name (StarRocks' data/, meta/ and log/
// folders differ much, and every partition has them).
type depthStats struct {
	folders, objects, subfolders float64
}

type statKey struct {
	depth int
	name  string
}

// minSamples is how many folders of a depth (or of a depth and name) must
// have been opened before their average stands for the others.
const minSamples = 4

// base returns a folder's last name ("data/" of "a/b/data/").
func base(folder string) string {
	return folder[strings.LastIndexByte(strings.TrimSuffix(folder, "/"), '/')+1:]
}

// pick takes up to k nodes to open from the frontier. First a sample of
// every depth whose folders' size is not known yet (minSamples folders,
// spread over the range), so that the estimates learn the deeper levels;
// then the largest estimates, shallower first among equals.
func (d *discovery) pick(k int) []*node {
	sort.SliceStable(d.frontier, func(i, j int) bool {
		a, b := d.frontier[i], d.frontier[j]
		if ea, eb := d.estimate(a), d.estimate(b); ea != eb {
			return ea > eb
		}
		if a.depth != b.depth {
			return a.depth < b.depth
		}
		return spread(a.span.Start) < spread(b.span.Start)
	})
	taken := make([]bool, len(d.frontier))
	var batch []*node
	sampling := map[int]float64{}
	for i, n := range d.frontier {
		if len(batch) == k {
			break
		}
		if _, known := d.perFolder(n.depth, base(n.folder)); n.rest || known {
			continue
		}
		opened := 0.0
		if st := d.stats[statKey{n.depth, ""}]; st != nil {
			opened = st.folders
		}
		if opened+sampling[n.depth] < minSamples {
			sampling[n.depth]++
			batch, taken[i] = append(batch, n), true
		}
	}
	var keep []*node
	for i, n := range d.frontier {
		switch {
		case taken[i]:
		case len(batch) < k && (!n.rest || d.chase):
			batch = append(batch, n)
		default:
			keep = append(keep, n)
		}
	}
	d.frontier = keep
	return batch
}

// parts is how many parts a range of total objects is worth cutting into:
// one per minPartObjects, at most target (a part costs a listing request
// a side however few objects it holds).
func (d *discovery) parts(total float64) int {
	return max(1, min(d.target, int(total/float64(orDefault(d.partObjects, minPartObjects)))))
}

// minPartObjects is the fewest objects worth a part of their own.
const minPartObjects = 2 * pageSize

// estimate is a node's expected number of objects: for a folder, what the
// opened folders of its depth (and name) held on average; for a rest, as
// much as the page before it.
func (d *discovery) estimate(n *node) float64 {
	if n.rest {
		return max(n.weight, 1)
	}
	e, _ := d.perFolder(n.depth, base(n.folder))
	return e
}

// perFolder is the average objects under a folder of depth dep and the
// name: of the opened folders of that name when there are minSamples of
// them, else of all the opened folders of the depth. known tells that
// minSamples folders stand behind it.
func (d *discovery) perFolder(dep int, name string) (e float64, known bool) {
	for _, k := range []statKey{{dep, name}, {dep, ""}} {
		if st := d.stats[k]; st != nil && st.folders >= minSamples {
			return d.mean(dep, st), true
		}
	}
	if st := d.stats[statKey{dep, ""}]; st != nil && st.folders > 0 {
		return d.mean(dep, st), false
	}
	return 1, false
}

// average is the average objects under any folder of depth dep (one when
// none was opened).
func (d *discovery) average(dep int) float64 {
	if st := d.stats[statKey{dep, ""}]; st != nil && st.folders > 0 {
		return d.mean(dep, st)
	}
	return 1
}

// mean is the average objects under the folders st sums: their objects,
// and their subfolders times the average of the next depth.
func (d *discovery) mean(dep int, st *depthStats) float64 {
	e := st.objects / st.folders
	if st.subfolders > 0 {
		e += st.subfolders / st.folders * d.average(dep+1)
	}
	return max(e, 1)
}

// spread orders nodes of equal estimate pseudo-randomly (but the same in
// every run): the folders opened first, whose sizes stand for the others,
// are a sample of the whole range rather than its first folders.
func spread(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}
