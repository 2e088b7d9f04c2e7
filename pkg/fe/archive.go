package fe

import (
	"context"
	"crypto/rand"
	"path"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/sshx"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// ArchiveOptions are the inputs of Archive.
type ArchiveOptions struct {
	SSH sshx.Options
	// Dir is the FE folder on the host (/opt/starrocks/fe).
	Dir string
	// RemoteArchive is where the tar.gz is written on the host; default
	// /tmp/fe-meta-<UTC timestamp>-<random>.tar.gz. It must not exist.
	RemoteArchive string
	// Includes are paths relative to Dir; empty means meta (required),
	// conf and small_files (when present); "." the whole folder. meta is
	// read where the FE reads it: fe.conf's meta_dir, a symlink followed.
	Includes []string
	// GzipLevel is 1 (fastest) to 9 (smallest); 0 means 6, as gzip's.
	GzipLevel int
	// GzipJobs is how many gzip processes compress parts of the tar at
	// once (the parts form one multi-member gzip file); 0: the host's CPU
	// count, at most 4. They run under nice(1).
	GzipJobs int
	// MaxCatchUp bounds the passes that append the files a live FE
	// creates during the copy (0: DefaultMaxCatchUp); see Archive.
	MaxCatchUp time.Duration
	// AllowEmpty lets an archive that should hold the metadata succeed
	// without a .jdb file, meta/image/VERSION or a finished image.
	AllowEmpty bool

	// hook, for tests, is a command run on the host before each tar pass
	// with the pass number and the file listing the names it reads.
	hook string
	now  func() time.Time
}

// DefaultMaxCatchUp is the default of ArchiveOptions.MaxCatchUp.
const DefaultMaxCatchUp = 2 * time.Minute

// ArchiveResult is fe-archive's part of the result line.
type ArchiveResult struct {
	Host       string `json:"host"`
	FEDir      string `json:"fe_dir"`
	RemotePath string `json:"remote_path"`
	// MetaDir is the folder archived as meta/: fe.conf's meta_dir (or the
	// FE folder's meta/) with symbolic links followed.
	MetaDir      string   `json:"meta_dir,omitempty"`
	SHA256       string   `json:"sha256,omitempty"`
	Size         int64    `json:"size"`
	Files        int      `json:"files"`
	JDBFiles     int      `json:"jdb_files"`
	FERunning    bool     `json:"fe_running"`
	FEPid        int      `json:"fe_pid,omitempty"`
	ImageVersion *int64   `json:"image_version,omitempty"`
	ClusterID    string   `json:"cluster_id,omitempty"`
	Includes     []string `json:"includes"`
	Excluded     int      `json:"excluded"`
	Vanished     int      `json:"vanished"`
	// Passes is the number of tar passes; Appended counts the files the
	// passes after the first appended; Converged says whether the last
	// pass found nothing new (false: --max-catch-up stopped the catch-up).
	Passes    int  `json:"passes"`
	Appended  int  `json:"appended"`
	Converged bool `json:"converged"`
	GzipJobs  int  `json:"gzip_jobs,omitempty"`
	// StartedAt is when the archive started, before the metadata was
	// read: the point in time of a backup set (catalog commit
	// --fe-archived-at), from which its consistency is measured.
	StartedAt string `json:"started_at"`
}

// archivePlan is ArchiveOptions checked, with the defaults applied.
type archivePlan struct {
	dir, out   string
	includes   []include
	level      int
	jobs       int
	maxCatchUp time.Duration
	allowEmpty bool
	hook       string
	now        func() time.Time
}

func (o *ArchiveOptions) validate() (*archivePlan, error) {
	p := &archivePlan{out: o.RemoteArchive, level: o.GzipLevel, jobs: o.GzipJobs, maxCatchUp: o.MaxCatchUp,
		allowEmpty: o.AllowEmpty, hook: o.hook, now: o.now}
	var err error
	if p.dir, err = checkFEDir(o.Dir); err != nil {
		return nil, err
	}
	if p.now == nil {
		p.now = time.Now
	}
	if p.out == "" {
		// A random suffix: two archives started in the same second on one
		// host (two clusters' FEs, a manual run beside the scheduled one)
		// must not take the same path; the second would fail.
		p.out = "/tmp/fe-meta-" + timestamp(p.now()) + "-" + rand.Text()[:8] + ".tar.gz"
	}
	if err := sshx.CheckRemotePath("--remote-archive", p.out); err != nil {
		return nil, err
	}
	if strings.HasSuffix(p.out, "/") {
		return nil, usage.Errorf("--remote-archive %s: give a file path, not a folder", p.out)
	}
	p.out = path.Clean(p.out)
	paths, err := cleanIncludes(o.Includes)
	if err != nil {
		return nil, err
	}
	p.includes = defaultIncludes
	if len(paths) > 0 {
		p.includes = nil
		for _, in := range paths {
			p.includes = append(p.includes, include{Path: in, Required: true})
		}
	}
	if p.level == 0 {
		p.level = 6
	}
	if p.level < 1 || p.level > 9 {
		return nil, usage.Errorf("--gzip-level %d: use 1 (fastest) to 9 (smallest)", p.level)
	}
	if p.jobs < 0 || p.jobs > 64 {
		return nil, usage.Errorf("--gzip-jobs %d: use 0 (automatic) to 64", p.jobs)
	}
	switch {
	case p.maxCatchUp == 0:
		p.maxCatchUp = DefaultMaxCatchUp
	case p.maxCatchUp < time.Second:
		return nil, usage.Errorf("--max-catch-up %s: give at least 1s", p.maxCatchUp)
	}
	return p, nil
}

// checkFEDir checks --fe-dir and returns it cleaned.
func checkFEDir(dir string) (string, error) {
	if err := sshx.CheckRemotePath("--fe-dir", dir); err != nil {
		return "", err
	}
	dir = path.Clean(dir)
	if dir == "/" {
		return "", usage.Errorf("--fe-dir / is not an FE folder")
	}
	return dir, nil
}

// hasMeta says whether the includes take the whole metadata.
func (p *archivePlan) hasMeta() bool {
	for _, in := range p.includes {
		if in.Path == "." || in.Path == "meta" {
			return true
		}
	}
	return false
}

// Archive builds a gzip tar of the FE folder on the FE host, over SSH,
// and returns its path, SHA-256 and size.
//
// The metadata is read where the FE reads it (fe.conf's meta_dir, else
// the FE folder's meta/, symbolic links followed) and archived as meta/.
// An archive that should hold it fails without a .jdb file,
// meta/image/VERSION or a finished image, unless AllowEmpty.
//
// The tar honours the BDB JE hot-copy rule, so that the archive of a
// running FE restores: every .jdb file is read in ascending numeric order;
// then, pass after pass, the files created meanwhile are appended with the
// .jdb that was the last one read, until a pass finds nothing new or
// MaxCatchUp ends the catch-up (see scripts/archive-copy.sh); the passes
// run on the host in one command. The uncompressed tar is built in a
// private temp folder beside the archive, compressed (parts in parallel
// under nice), hashed and renamed into place; every temp file is removed
// whatever happens.
func Archive(ctx context.Context, o ArchiveOptions) (*ArchiveResult, error) {
	log := zerolog.Ctx(ctx)
	p, err := o.validate()
	if err != nil {
		return nil, err
	}
	cfg, err := o.SSH.Resolve()
	if err != nil {
		return nil, err
	}
	res := &ArchiveResult{Host: cfg.Addr(), FEDir: p.dir, RemotePath: p.out, StartedAt: time.Now().UTC().Format(time.RFC3339)}
	for _, in := range p.includes {
		res.Includes = append(res.Includes, in.Path)
	}
	c, err := sshx.Dial(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer c.Close()

	st, err := inspect(ctx, c, p.dir, nil)
	if err != nil {
		return res, err
	}
	res.FERunning, res.FEPid = st.Pid > 0, st.Pid
	if res.FERunning {
		log.Warn().Int("pid", st.Pid).Str("pid_file", st.PidFile).
			Msg("the FE is running: hot copy; meta/bdb is read in the BDB JE hot-backup order and files created meanwhile are appended")
	}
	a := newArchiver(c, p, res, metaDir(p.dir, st.Conf))
	defer a.cleanup(ctx)
	if err := a.prepare(ctx); err != nil {
		return res, err
	}
	if err := a.copy(ctx); err != nil {
		return res, err
	}
	if err := a.compress(ctx); err != nil {
		return res, err
	}
	log.Info().Str("remote_path", res.RemotePath).Int64("size", res.Size).Int("files", res.Files).
		Int("jdb_files", res.JDBFiles).Str("meta_dir", res.MetaDir).Str("sha256", res.SHA256).Msg("FE metadata archived")
	return res, nil
}
