package fe

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/starrocks-backup/srbackup/pkg/archive"
)

// Content is what an FE archive holds that a restored FE needs.
type Content struct {
	Files        int
	JDBFiles     int
	ImageVersion *int64
	ClusterID    string
	HasVersion   bool // meta/image/VERSION
}

// ErrIncomplete marks an FE archive that lacks what an FE needs to start.
var ErrIncomplete = errors.New("the FE archive lacks metadata an FE needs")

// Missing says what the archive lacks: a restored FE needs the BDB JE
// journal, the image's VERSION file (the cluster id) and a finished image.
// It is the one rule fe-archive (before it succeeds) and catalog verify
// --deep (before a set counts as restorable) apply.
func (c Content) Missing() []string {
	var missing []string
	if c.JDBFiles == 0 {
		missing = append(missing, "no .jdb file in meta/bdb")
	}
	if !c.HasVersion {
		missing = append(missing, "no meta/image/VERSION")
	}
	if c.ImageVersion == nil {
		missing = append(missing, "no finished image (meta/image/image.N)")
	}
	return missing
}

// Check is Missing as an error wrapping ErrIncomplete.
func (c Content) Check() error {
	if missing := c.Missing(); len(missing) > 0 {
		return fmt.Errorf("%w: %s", ErrIncomplete, strings.Join(missing, ", "))
	}
	return nil
}

// ReadContent checks every member of the tar.gz on r (as fe-extract does)
// and describes its FE content; the summary carries its SHA-256.
func ReadContent(r io.Reader) (*archive.Summary, Content, error) {
	var c Content
	var names []string
	jdb := map[string]bool{}
	sum, err := archive.CheckReader(r, func(m archive.Member, body io.Reader) error {
		if m.IsDir() {
			return nil
		}
		names = append(names, m.Name)
		if isJDB(m.Name) {
			jdb[m.Name] = true
		}
		if m.Name == "meta/image/VERSION" {
			c.HasVersion = true
			b, err := io.ReadAll(io.LimitReader(body, 64<<10))
			if err != nil {
				return fmt.Errorf("%w: %v", archive.ErrCorrupt, err)
			}
			c.ClusterID = parseClusterID(string(b))
		}
		return nil
	})
	if err != nil {
		return nil, c, err
	}
	c.Files, c.JDBFiles = sum.Files, len(jdb)
	if v, ok := imageVersion(names); ok {
		c.ImageVersion = &v
	}
	return sum, c, nil
}
