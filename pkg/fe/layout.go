// Package fe knows the StarRocks FE folder (/opt/starrocks/fe): what to
// archive (the rules live in the host scripts, scripts/archive-lib.sh), the
// BDB JE hot-copy order of meta/bdb, the image version and cluster id,
// whether the FE runs (fe.pid, listening ports), fe.conf edits, and the
// safe extract plan. It holds the Run functions of fe-archive, fe-fetch and
// fe-extract, which drive the FE host through pkg/sshx with the scripts of
// scripts/.
//
// Files: archive.go (fe-archive's options and flow), archive_host.go (its
// remote steps), extract.go and extract_host.go (fe-extract), fetch.go,
// inspect.go (is the FE running), plan.go (the swap), conf.go (fe.conf),
// layout.go (names and paths), scripts.go (the embedded scripts).
package fe

import (
	"path"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// include is a path archived from the FE folder.
type include struct {
	Path     string
	Required bool // a missing required path fails the archive
}

// defaultIncludes are archived when no --include is given: the metadata
// (required), the configuration and small_files (when present). Not log/,
// bin/, lib/ or temp folders: hundreds of MB of logs and jars that a
// restore does not need. fe-extract restores these names unless its
// --include names more.
var defaultIncludes = []include{{"meta", true}, {"conf", false}, {"small_files", false}}

// cleanIncludes checks --include values (each may be a comma-separated
// list: the variable form SRB_INCLUDE=meta,conf) and returns them cleaned
// and without repeats; "." alone when one of them is ".".
func cleanIncludes(values []string) ([]string, error) {
	var clean []string
	seen := map[string]bool{}
	for _, in := range values {
		for _, part := range strings.Split(in, ",") {
			if strings.TrimSpace(part) == "" {
				continue
			}
			p, err := cleanInclude(part)
			if err != nil {
				return nil, err
			}
			if !seen[p] {
				seen[p] = true
				clean = append(clean, p)
			}
		}
	}
	if seen["."] {
		clean = []string{"."}
	}
	return clean, nil
}

// cleanInclude checks an --include value and returns it cleaned, relative
// to the FE folder; "." means the whole folder.
func cleanInclude(p string) (string, error) {
	raw := p
	p = strings.TrimSpace(p)
	switch {
	case p == "":
		return "", usage.Errorf("--include: empty path")
	case strings.ContainsRune(p, 0) || strings.ContainsRune(p, '\n'):
		return "", usage.Errorf("--include %q: control characters in the path", raw)
	case strings.HasPrefix(p, "/"):
		return "", usage.Errorf("--include %q: give a path relative to --fe-dir", raw)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", usage.Errorf("--include %q: \"..\" leaves the FE folder", raw)
		}
	}
	p = path.Clean(p)
	if strings.HasPrefix(p, "-") {
		return "", usage.Errorf("--include %q: a path starting with '-' would be read as an option", raw)
	}
	return p, nil
}

var jdbPattern = regexp.MustCompile(`^[0-9a-fA-F]{8,16}\.jdb$`)

// isJDB reports whether p names a BDB JE log file ("meta/bdb/0000000a.jdb").
func isJDB(p string) bool { return jdbPattern.MatchString(path.Base(p)) }

var imagePattern = regexp.MustCompile(`^image\.(\d+)$`)

// imageVersion returns the highest N of the finished images image/image.N
// and image/v2/image.N among paths (relative to the FE folder or to the
// meta folder); StarManager images (image/starmgr/image.N) do not count.
func imageVersion(paths []string) (int64, bool) {
	var best int64 = -1
	for _, p := range paths {
		m := imagePattern.FindStringSubmatch(path.Base(p))
		if m == nil {
			continue
		}
		dir := path.Dir(p)
		if path.Base(dir) == "v2" {
			dir = path.Dir(dir)
		}
		if path.Base(dir) != "image" {
			continue
		}
		n, err := strconv.ParseInt(m[1], 10, 64)
		if err == nil && n > best {
			best = n
		}
	}
	return best, best >= 0
}

// parseClusterID returns the clusterId of a meta/image/VERSION file
// (a Java properties file: "clusterId=123456789").
func parseClusterID(version string) string {
	v, _ := confValue(version, "clusterId")
	return v
}

// timestamp formats t for file names: 20261124T010203Z (UTC).
func timestamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// beforeRestore is the infix of the folders fe-extract keeps the previous
// copies in: meta.before-restore-20261124T010203Z.
const beforeRestore = ".before-restore-"
