// Package archive reads local tar.gz files and checks every member before
// anything is extracted from them: no absolute path, no "..", no link
// pointing outside the archive, no member reached through a symbolic link,
// no device, FIFO or set-uid file. It reads the whole file once, computing
// its SHA-256 on the way.
package archive

import (
	"archive/tar"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strings"
)

// ErrUnsafe marks an archive refused by the member checks.
var ErrUnsafe = errors.New("unsafe archive member")

// ErrCorrupt marks a file that is not a readable tar.gz.
var ErrCorrupt = errors.New("not a readable tar.gz")

// Member is one checked archive member. Name is cleaned: no leading "./",
// no trailing "/".
type Member struct {
	Name     string
	Type     byte // tar.TypeReg, tar.TypeDir, tar.TypeSymlink, tar.TypeLink
	Size     int64
	Linkname string
	Mode     int64
}

// IsDir reports whether the member is a folder.
func (m Member) IsDir() bool { return m.Type == tar.TypeDir }

// Summary describes a checked archive.
type Summary struct {
	SHA256 string
	Size   int64 // bytes of the tar.gz file
	// Files counts distinct non-folder members (a file appended twice, as
	// fe-archive does for a .jdb that grew, counts once).
	Files    int
	Dirs     int
	TopLevel []string // sorted distinct first components: "conf", "meta"
}

// Check reads the tar.gz file at p, checks every member and calls visit
// (when not nil) with each member and its content. Errors wrapping
// ErrUnsafe name the member and the rule it breaks; errors wrapping
// ErrCorrupt say why the file cannot be read.
func Check(p string, visit func(m Member, r io.Reader) error) (*Summary, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return CheckReader(f, visit)
}

// CheckReader is Check on a stream (an archive read from S3, say): it
// reads r to its end.
func CheckReader(r io.Reader, visit func(m Member, r io.Reader) error) (*Summary, error) {
	h := sha256.New()
	counted := &countingReader{r: io.TeeReader(r, h)}
	zr, err := gzip.NewReader(counted)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	tr := tar.NewReader(zr)
	c := newChecker()
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
		}
		m, err := c.check(hdr)
		if err != nil {
			return nil, err
		}
		if m == nil {
			continue
		}
		if visit != nil {
			if err := visit(*m, tr); err != nil {
				return nil, err
			}
		}
	}
	// Read to the end: trailing padding and any further gzip member, so
	// that the digest covers the whole file and a truncated file is seen.
	if _, err := io.Copy(io.Discard, zr); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	if _, err := io.Copy(io.Discard, counted); err != nil {
		return nil, err
	}
	if len(c.kinds) == 0 {
		return nil, fmt.Errorf("%w: the archive is empty", ErrCorrupt)
	}
	if err := c.finish(); err != nil {
		return nil, err
	}
	s := &Summary{SHA256: hex.EncodeToString(h.Sum(nil)), Size: counted.n}
	top := map[string]bool{}
	for name, kind := range c.kinds {
		if kind == tar.TypeDir {
			s.Dirs++
		} else {
			s.Files++
		}
		first, _, _ := strings.Cut(name, "/")
		top[first] = true
	}
	for t := range top {
		s.TopLevel = append(s.TopLevel, t)
	}
	sort.Strings(s.TopLevel)
	return s, nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// checker holds what earlier members said, for the checks that span
// members (links, types).
type checker struct {
	kinds map[string]byte   // cleaned name → type of its first entry
	links map[string]string // symbolic link → its target
}

func newChecker() *checker { return &checker{kinds: map[string]byte{}, links: map[string]string{}} }

func unsafe(name, why string) error {
	return fmt.Errorf("%w %q: %s", ErrUnsafe, name, why)
}

// CleanName checks an archive member name and returns it without a
// leading "./" or trailing "/"; "" for the archive root itself ("./").
func CleanName(raw string) (string, error) {
	if raw == "" {
		return "", unsafe(raw, "empty name")
	}
	if strings.ContainsRune(raw, 0) {
		return "", unsafe(raw, "NUL byte in the name")
	}
	if strings.HasPrefix(raw, "/") {
		return "", unsafe(raw, "absolute path")
	}
	for _, part := range strings.Split(raw, "/") {
		if part == ".." {
			return "", unsafe(raw, `".." in the path`)
		}
	}
	name := path.Clean(raw)
	if name == "." {
		return "", nil
	}
	return name, nil
}

// check applies the member rules to one header. It returns nil, nil for
// members that carry nothing (the root folder).
func (c *checker) check(hdr *tar.Header) (*Member, error) {
	name, err := CleanName(hdr.Name)
	if err != nil {
		return nil, err
	}
	if name == "" {
		if hdr.Typeflag != tar.TypeDir {
			return nil, unsafe(hdr.Name, "the archive root is not a folder")
		}
		return nil, nil
	}
	typ := hdr.Typeflag // the reader already reports old-style files ('\x00') as TypeReg
	switch typ {
	case tar.TypeReg, tar.TypeDir:
	case tar.TypeSymlink:
		if err := symlinkInside(name, hdr.Linkname); err != nil {
			return nil, err
		}
	case tar.TypeLink:
		target, err := CleanName(hdr.Linkname)
		if err != nil || target == "" {
			return nil, unsafe(name, fmt.Sprintf("hard link to %q outside the archive", hdr.Linkname))
		}
		if k, ok := c.kinds[target]; !ok || k != tar.TypeReg {
			return nil, unsafe(name, fmt.Sprintf("hard link to %q, which is not an earlier file of the archive", hdr.Linkname))
		}
	case tar.TypeChar, tar.TypeBlock:
		return nil, unsafe(name, "device file")
	case tar.TypeFifo:
		return nil, unsafe(name, "FIFO")
	default:
		return nil, unsafe(name, fmt.Sprintf("unsupported member type %q", string(typ)))
	}
	if typ != tar.TypeDir && hdr.Mode&(0o4000|0o2000) != 0 {
		return nil, unsafe(name, "set-uid or set-gid file")
	}
	if prev, ok := c.kinds[name]; ok {
		// A file appended again (a .jdb that grew) or a folder listed
		// twice is fine; a name that changes type or a repeated link is not.
		if !(prev == typ && (typ == tar.TypeReg || typ == tar.TypeDir)) {
			return nil, unsafe(name, "appears twice, with different types or as a repeated link")
		}
	} else {
		c.kinds[name] = typ
	}
	if typ == tar.TypeSymlink {
		c.links[name] = hdr.Linkname
	}
	return &Member{Name: name, Type: typ, Size: hdr.Size, Linkname: hdr.Linkname, Mode: hdr.Mode}, nil
}

// finish applies the rules that need the whole archive: no member is
// reached through a symbolic link or a non-folder member ("meta" -> "x"
// then "meta/passwd"), and no symbolic link leaves the root once the
// other links of the archive are followed ("a" -> ".", "b" -> "a/..").
func (c *checker) finish() error {
	names := make([]string, 0, len(c.kinds))
	for n := range c.kinds {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		for dir := path.Dir(name); dir != "."; dir = path.Dir(dir) {
			if k, ok := c.kinds[dir]; ok && k != tar.TypeDir {
				return unsafe(name, fmt.Sprintf("its parent %q is not a folder in the archive", dir))
			}
		}
	}
	for _, name := range names {
		target, ok := c.links[name]
		if !ok {
			continue
		}
		if _, err := c.walk(splitPath(path.Dir(name)), target, 0); err != nil {
			return unsafe(name, fmt.Sprintf("symbolic link to %q, %v", target, err))
		}
	}
	return nil
}

// walk resolves target from the folder base (as path components),
// following the archive's own links, and fails when it leaves the root.
func (c *checker) walk(base []string, target string, depth int) ([]string, error) {
	if depth > 40 {
		return nil, errors.New("a loop of links")
	}
	if strings.HasPrefix(target, "/") {
		return nil, errors.New("an absolute path")
	}
	for _, comp := range strings.Split(target, "/") {
		switch comp {
		case "", ".":
			continue
		case "..":
			if len(base) == 0 {
				return nil, errors.New("outside the archive")
			}
			base = base[:len(base)-1]
			continue
		}
		base = append(base, comp)
		if t, ok := c.links[strings.Join(base, "/")]; ok {
			var err error
			if base, err = c.walk(append([]string{}, base[:len(base)-1]...), t, depth+1); err != nil {
				return nil, err
			}
		}
	}
	return base, nil
}

func splitPath(p string) []string {
	if p == "." || p == "" {
		return nil
	}
	return strings.Split(p, "/")
}

// symlinkInside checks that a symbolic link at name pointing to target
// resolves inside the archive root.
func symlinkInside(name, target string) error {
	switch {
	case target == "":
		return unsafe(name, "symbolic link with an empty target")
	case strings.HasPrefix(target, "/"):
		return unsafe(name, fmt.Sprintf("symbolic link to the absolute path %q", target))
	}
	resolved := path.Join(path.Dir(name), target)
	if resolved == ".." || strings.HasPrefix(resolved, "../") {
		return unsafe(name, fmt.Sprintf("symbolic link to %q, outside the archive", target))
	}
	return nil
}
