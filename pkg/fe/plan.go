package fe

import (
	"path"
	"sort"
	"strconv"

	"github.com/starrocks-backup/srbackup/pkg/sshx"
)

// Replaced is one top-level entry of the FE folder that a restore put in
// place. Previous is where the entry it replaced was moved to, "" when
// there was none.
type Replaced struct {
	Name     string `json:"name"`
	Path     string `json:"path"`
	Previous string `json:"previous,omitempty"`
}

// Move is one rename of the plan.
type Move struct{ From, To string }

// Plan is how an extracted archive replaces the FE folder's entries: for
// each top-level name of the archive, the current entry (if any) is
// renamed aside to <name>.before-restore-<ts>, then the staged entry is
// renamed in. Renames within one filesystem are atomic, so meta/ is at any
// moment either the whole old folder, absent, or the whole new one, never
// half-extracted.
type Plan struct {
	Dir      string
	Staging  string // the folder holding the extracted entries
	Stamp    string
	Names    []string
	Replaced []Replaced
}

// NewPlan builds the plan; exists says whether Dir/<name> exists now.
func NewPlan(dir, staging, stamp string, names []string, exists func(name string) bool) *Plan {
	p := &Plan{Dir: dir, Staging: staging, Stamp: stamp, Names: append([]string{}, names...)}
	sort.Strings(p.Names)
	for _, n := range p.Names {
		r := Replaced{Name: n, Path: path.Join(dir, n)}
		if exists(n) {
			r.Previous = path.Join(dir, n+BeforeRestore+stamp)
		}
		p.Replaced = append(p.Replaced, r)
	}
	return p
}

// Moves lists the renames in the order they run.
func (p *Plan) Moves() []Move {
	var m []Move
	for _, r := range p.Replaced {
		if r.Previous != "" {
			m = append(m, Move{From: r.Path, To: r.Previous})
		}
		m = append(m, Move{From: path.Join(p.Staging, r.Name), To: r.Path})
	}
	return m
}

// Script returns the sh script that runs the renames. It first checks that
// every staged entry is there, that no target of a rename exists and that
// each replaced entry is on the FE folder's filesystem (a mount point
// cannot be renamed); then it renames, and if a rename fails it undoes the
// earlier ones in reverse order, so the folder is left as it was. A failed
// undo prints "ROLLBACK FAILED" and leaves the staging folder in place.
func (p *Plan) Script() string {
	s := sshx.NewScript().Set("d", p.Dir)
	s.Line(`dev=$(stat -c %d -- "$d") || die "cannot stat $d"`)
	moves := p.Moves()
	for _, r := range p.Replaced {
		staged := path.Join(p.Staging, r.Name)
		s.Linef(`{ [ -e %s ] || [ -L %s ]; } || die "staged entry" %s "is missing"`, staged, staged, staged)
		if r.Previous != "" {
			s.Linef(`if [ -e %s ] || [ -L %s ]; then die %s "already exists"; fi`, r.Previous, r.Previous, r.Previous)
			s.Linef(`if [ -d %s ] && [ ! -L %s ] && [ "$(stat -c %%d -- %s)" != "$dev" ]; then die %s "is a mount point (another filesystem): it cannot be swapped by a rename; restore it by hand"; fi`,
				r.Path, r.Path, r.Path, r.Path)
		} else {
			s.Linef(`if [ -e %s ] || [ -L %s ]; then die %s "appeared during the restore"; fi`, r.Path, r.Path, r.Path)
		}
	}
	// undo_k reverts the first k renames.
	for k := 0; k <= len(moves); k++ {
		s.Line("undo_" + strconv.Itoa(k) + "() {")
		s.Line("  ok=1")
		for i := k - 1; i >= 0; i-- {
			s.Linef(`  mv -T -- %s %s || { ok=0; printf 'ROLLBACK FAILED: cannot move %%s back to %%s\n' %s %s >&2; }`,
				moves[i].To, moves[i].From, moves[i].To, moves[i].From)
		}
		s.Line(`  [ "$ok" = 1 ] || exit 3`)
		s.Line("}")
	}
	for i, m := range moves {
		s.Linef(`mv -T -- %s %s || { undo_`+strconv.Itoa(i)+`; die "cannot move" %s "to" %s "(the FE folder was left as it was)"; }`,
			m.From, m.To, m.From, m.To)
	}
	s.Line(`echo swapped`)
	return s.String()
}
