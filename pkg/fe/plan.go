package fe

import (
	"os"
	"sort"
	"strconv"

	"github.com/starrocks-backup/srbackup/pkg/sshx"
)

// Replaced is one top-level entry that a restore put in place: Path is
// where (the FE folder's conf/, or the real meta folder for meta/), and
// Previous where the entry it replaced was moved to, "" when there was none.
type Replaced struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Previous string `json:"previous,omitempty"`
	staged   string // the extracted entry in the staging folder
}

// swapPlan is how an extracted archive replaces the entries: for each
// top-level name of the archive, the current entry (if any) is renamed
// aside to <path>.before-restore-<stamp>, then the staged entry is renamed
// in. Renames within one filesystem are atomic, so meta/ is at any moment
// either the whole old folder, absent, or the whole new one, never
// half-extracted.
type swapPlan []Replaced

// newSwapPlan orders the entries by name and names the previous copies;
// exists says whether a path exists now.
func newSwapPlan(stamp string, entries []Replaced, exists func(p string) bool) swapPlan {
	p := append(swapPlan{}, entries...)
	sort.Slice(p, func(i, j int) bool { return p[i].Name < p[j].Name })
	for i := range p {
		p[i].Previous = ""
		if exists(p[i].Path) {
			p[i].Previous = p[i].Path + beforeRestore + stamp
		}
	}
	return p
}

// script returns scripts/swap.sh with the plan's renames.
func (p swapPlan) script() *sshx.Script {
	s := sshx.NewScript(swapScript).Set("n", strconv.Itoa(len(p)))
	for i, r := range p {
		k := strconv.Itoa(i + 1)
		s.Set("from_"+k, r.staged).Set("to_"+k, r.Path).Set("prev_"+k, r.Previous)
	}
	return s
}

// lexists is the exists function of a local plan (tests) or an SFTP one.
func lexists(lstat func(string) (os.FileInfo, error)) func(string) bool {
	return func(p string) bool {
		_, err := lstat(p)
		return err == nil
	}
}
