// Package fe knows the StarRocks FE folder (/opt/starrocks/fe): what to
// archive and what never to (checkpoints in progress, temp and lock files),
// the BDB JE hot-copy order of meta/bdb, the image version and cluster id,
// whether the FE runs (fe.pid, listening ports), fe.conf edits, and the safe
// extract plan. It also holds the Run functions of fe-archive, fe-fetch and
// fe-extract, which drive the FE host through pkg/sshx.
package fe

import (
	"path"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Include is a path archived from the FE folder.
type Include struct {
	Path     string
	Required bool // a missing required path fails the archive
}

// DefaultIncludes are archived when no --include is given: the metadata
// (required), the configuration and small_files (when present). Not log/,
// bin/, lib/ or temp folders: hundreds of MB of logs and jars that a
// restore does not need.
var DefaultIncludes = []Include{{"meta", true}, {"conf", false}, {"small_files", false}}

// CleanInclude checks an --include value and returns it cleaned, relative
// to the FE folder; "." means the whole folder.
func CleanInclude(p string) (string, error) {
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

// Why a path is left out of an archive.
const (
	ReasonCheckpoint = "checkpoint in progress"
	ReasonTemp       = "temporary file"
	ReasonLock       = "lock file"
	ReasonPid        = "pid file"
	ReasonRestore    = "copy kept by fe-extract"
)

var tempSuffixes = []string{".tmp", ".temp", ".part", ".swp", ".swx", "~"}

// Excluded says whether a path of the FE folder (relative, "meta/image/x")
// is never archived, and why. A checkpoint being written (image.ckpt, any
// *.ckpt, file or folder) would restore a half-written image; temp files,
// the BDB JE lock file and pid files describe a process, not metadata; a
// restored fe.pid would make the FE look running.
func Excluded(rel string) (bool, string) {
	base := path.Base(rel)
	first, _, _ := strings.Cut(rel, "/")
	switch {
	case strings.HasSuffix(base, ".ckpt"):
		return true, ReasonCheckpoint
	case base == "je.lck":
		return true, ReasonLock
	case strings.HasSuffix(base, ".pid"):
		return true, ReasonPid
	case strings.Contains(first, BeforeRestore):
		return true, ReasonRestore
	case strings.HasPrefix(base, ".#"):
		return true, ReasonTemp
	}
	for _, s := range tempSuffixes {
		if strings.HasSuffix(base, s) {
			return true, ReasonTemp
		}
	}
	return false, ""
}

var jdbPattern = regexp.MustCompile(`^([0-9a-fA-F]{8,16})\.jdb$`)

// JDBNumber returns the log file number of a BDB JE file name
// ("0000000a.jdb" → 10); ok is false for any other name.
func JDBNumber(name string) (n uint64, ok bool) {
	m := jdbPattern.FindStringSubmatch(path.Base(name))
	if m == nil {
		return 0, false
	}
	n, err := strconv.ParseUint(m[1], 16, 64)
	return n, err == nil
}

// IsJDB reports whether p names a BDB JE log file.
func IsJDB(p string) bool {
	_, ok := JDBNumber(p)
	return ok
}

// SortJDB orders BDB JE log files as a hot copy must read them: by folder,
// then by ascending numeric (hex) file number, whatever the case or width
// of the name, which is not the order of a directory listing.
func SortJDB(paths []string) {
	sort.SliceStable(paths, func(i, j int) bool {
		switch {
		case jdbLess(paths[i], paths[j]):
			return true
		case jdbLess(paths[j], paths[i]):
			return false
		}
		return paths[i] < paths[j]
	})
}

// jdbLess orders two .jdb paths by folder, then by file number.
func jdbLess(x, y string) bool {
	if dx, dy := path.Dir(x), path.Dir(y); dx != dy {
		return dx < dy
	}
	nx, _ := JDBNumber(x)
	ny, _ := JDBNumber(y)
	return nx < ny
}

var imagePattern = regexp.MustCompile(`^image\.(\d+)$`)

// ImageVersion returns the highest N of the finished images image/image.N
// and image/v2/image.N among paths (relative to the FE folder or to the
// meta folder); StarManager images (image/starmgr/image.N) do not count.
func ImageVersion(paths []string) (int64, bool) {
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

// ParseClusterID returns the clusterId of a meta/image/VERSION file
// (a Java properties file: "clusterId=123456789").
func ParseClusterID(version string) string {
	v, _ := ConfValue(version, "clusterId")
	return v
}

// Timestamp formats t for file names: 20261124T010203Z (UTC).
func Timestamp(t time.Time) string { return t.UTC().Format("20060102T150405Z") }

// BeforeRestore is the infix of the folders fe-extract keeps the previous
// copies in: meta.before-restore-20261124T010203Z.
const BeforeRestore = ".before-restore-"
