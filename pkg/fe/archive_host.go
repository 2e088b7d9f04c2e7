package fe

import (
	"context"
	"errors"
	"fmt"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/bytesize"
	"github.com/starrocks-backup/srbackup/pkg/secret"
	"github.com/starrocks-backup/srbackup/pkg/sshx"
)

// archiver holds one archive run's remote state.
type archiver struct {
	c       *sshx.Client
	p       *archivePlan
	res     *ArchiveResult
	metaCfg string // meta_dir as fe.conf sets it, or <FE folder>/meta
	tmpDir  string
	jobs    int  // gzip jobs
	version bool // the tar holds meta/image/VERSION
	cleaned bool // the temp folder is gone
}

func newArchiver(c *sshx.Client, p *archivePlan, res *ArchiveResult, metaCfg string) *archiver {
	dir, base := path.Split(p.out)
	return &archiver{c: c, p: p, res: res, metaCfg: metaCfg, tmpDir: path.Join(dir, "."+base+".tmp-"+randHex(6))}
}

// script starts a remote script with the run's variables: the paths and
// the includes split into the FE folder's side and the meta folder's.
func (a *archiver) script(body string) *sshx.Script {
	var feReq, feOpt, meReq, meOpt []string
	add := func(req, opt *[]string, in include, p string) {
		if in.Required {
			*req = append(*req, p)
		} else {
			*opt = append(*opt, p)
		}
	}
	for _, in := range a.p.includes {
		switch {
		case in.Path == ".":
			feReq = append(feReq, ".")
			meOpt = append(meOpt, "meta/")
		case in.Path == "meta":
			add(&meReq, &meOpt, in, "meta/")
		case strings.HasPrefix(in.Path, "meta/"):
			add(&meReq, &meOpt, in, in.Path)
		default:
			add(&feReq, &feOpt, in, "./"+in.Path)
		}
	}
	return sshx.NewScript(body).Set("d", a.p.dir).Set("out", a.p.out).Set("tmpd", a.tmpDir).
		Set("tarf", path.Join(a.tmpDir, "fe.tar")).Set("metacfg", a.metaCfg).
		Set("fe_req", strings.Join(feReq, "\n")).Set("fe_opt", strings.Join(feOpt, "\n")).
		Set("me_req", strings.Join(meReq, "\n")).Set("me_opt", strings.Join(meOpt, "\n"))
}

// prepare checks the host's tools and paths, creates the temp folder,
// finds the real meta folder, chooses the gzip jobs and checks the free
// space, in one round trip.
func (a *archiver) prepare(ctx context.Context) error {
	sec, err := a.c.RunSections(ctx, a.script(archivePrepare))
	if err != nil {
		return fmt.Errorf("prepare the archive on %s: %w", a.c.Target(), err)
	}
	a.res.MetaDir = sec["meta"]
	a.res.ClusterID = parseClusterID(sec["version"])
	if a.metaCfg != path.Join(a.p.dir, "meta") || a.res.MetaDir != a.metaCfg {
		zerolog.Ctx(ctx).Info().Str("meta_dir", a.res.MetaDir).Str("configured", a.metaCfg).
			Msg("the metadata lives outside the FE folder's meta/ (fe.conf's meta_dir, or a symbolic link): archived from there as meta/")
	}
	a.jobs = a.p.jobs
	if a.jobs == 0 {
		a.jobs = 1
		if v, ok := sec.Value("info", "nproc"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				a.jobs = min(n, 4)
			}
		}
	}
	avail, okA := sec.Value("info", "avail")
	need, okN := sec.Value("info", "bytes")
	if okA && okN {
		kb, errA := strconv.ParseInt(avail, 10, 64)
		total, errN := strconv.ParseInt(need, 10, 64)
		if errA == nil && errN == nil {
			return a.checkSpace(total, kb*1024)
		}
	}
	return nil
}

// checkSpace refuses to start when the archive's folder cannot hold the
// uncompressed tar and the compressed file side by side: a full /tmp on
// an FE host can stop the FE.
func (a *archiver) checkSpace(total, avail int64) error {
	if need := 2*total + 64<<20; avail < need {
		return fmt.Errorf("not enough space beside %s: the archive needs about %s (tar and tar.gz side by side), %s is free; "+
			"choose --remote-archive on a larger filesystem", a.p.out, bytesize.Format(need), bytesize.Format(avail))
	}
	return nil
}

// copy runs the tar passes on the host (scripts/archive-copy.sh) and
// checks that the tar holds the metadata.
func (a *archiver) copy(ctx context.Context) error {
	log := zerolog.Ctx(ctx)
	start := time.Now()
	s := a.script(archiveCopy).Set("maxc", strconv.FormatInt(a.p.maxCatchUp.Milliseconds(), 10)).Set("hook", a.p.hook)
	sec, err := a.c.RunSections(ctx, s)
	if _, failed := sec["tar-failed"]; failed {
		rc, _ := sec.Value("tar-failed", "status")
		msg := sshx.LastLines(sec["tar-err"], 3)
		return fmt.Errorf("tar on %s failed (exit %s): %s", a.c.Target(), rc, secret.Mask(msg))
	}
	if err != nil {
		return fmt.Errorf("tar on %s: %w", a.c.Target(), err)
	}
	num := func(k string) int {
		v, _ := sec.Value("copy", k)
		n, _ := strconv.Atoi(v)
		return n
	}
	a.res.Passes, a.res.Appended, a.res.Vanished, a.res.Excluded = num("passes"), num("appended"), num("vanished"), num("excluded")
	a.res.Converged = num("converged") == 1
	a.summarize(sec["members"])
	ev, msg := log.Info(), "tar built: the copy caught up with the FE"
	if !a.res.Converged {
		ev, msg = log.Warn(), "tar built: the FE kept writing; the catch-up stopped at --max-catch-up "+
			"after a pass in which no file vanished, which keeps the copy consistent"
	}
	ev.Dur("tar_duration", time.Since(start)).Int("passes", a.res.Passes).Int("appended", a.res.Appended).
		Int("vanished", a.res.Vanished).Bool("converged", a.res.Converged).Msg(msg)
	if a.res.Vanished > 0 {
		log.Info().Int("count", a.res.Vanished).
			Msg("files deleted during the copy (the BDB JE cleaner removes .jdb files whose records live on in newer files): skipped")
	}
	return a.checkMeta()
}

// errNoMeta marks an archive that should hold the metadata and does not.
var errNoMeta = errors.New("the archive would hold no usable FE metadata")

// checkMeta fails an archive that should hold the metadata but lacks a
// .jdb file, meta/image/VERSION or a finished image, unless AllowEmpty.
func (a *archiver) checkMeta() error {
	if !a.p.hasMeta() {
		return nil
	}
	var missing []string
	if a.res.JDBFiles == 0 {
		missing = append(missing, "no .jdb file in meta/bdb")
	}
	if !a.version {
		missing = append(missing, "no meta/image/VERSION")
	}
	if a.res.ImageVersion == nil {
		missing = append(missing, "no finished image (meta/image/image.N)")
	}
	if len(missing) == 0 || a.p.allowEmpty {
		return nil
	}
	return fmt.Errorf("%w: %s in %s (meta_dir from fe.conf, symbolic links followed); "+
		"check --fe-dir and fe.conf, or give --allow-empty if an empty FE is expected", errNoMeta, strings.Join(missing, ", "), a.res.MetaDir)
}

// summarize counts the distinct files of a `tar --list` output and finds
// the image version in it.
func (a *archiver) summarize(listing string) {
	files := map[string]bool{}
	for _, n := range strings.Split(listing, "\n") {
		if n == "" || strings.HasSuffix(n, "/") {
			continue
		}
		files[n] = true
		a.version = a.version || n == "meta/image/VERSION"
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
		if isJDB(n) {
			a.res.JDBFiles++
		}
	}
	a.res.Files = len(files)
	if v, ok := imageVersion(names); ok {
		a.res.ImageVersion = &v
	}
}

// compress compresses the tar in parallel parts into one gzip file while
// hashing it, and renames it into place.
func (a *archiver) compress(ctx context.Context) error {
	s := a.script(archiveCompress).Set("gz", path.Join(a.tmpDir, "fe.tar.gz")).
		Set("level", strconv.Itoa(a.p.level)).Set("jobs", strconv.Itoa(a.jobs))
	sec, err := a.c.RunSections(ctx, s)
	if err != nil {
		return fmt.Errorf("compress the archive on %s: %w", a.c.Target(), err)
	}
	a.cleaned = true
	a.res.SHA256, _ = sec.Value("result", "sha256")
	if v, ok := sec.Value("result", "size"); ok {
		a.res.Size, _ = strconv.ParseInt(v, 10, 64)
	}
	if v, ok := sec.Value("result", "jobs"); ok {
		a.res.GzipJobs, _ = strconv.Atoi(v)
	}
	if len(a.res.SHA256) != 64 {
		return fmt.Errorf("compress the archive on %s: no sha256 in the output", a.c.Target())
	}
	return nil
}

// cleanup removes the temp folder, also after a cancellation.
func (a *archiver) cleanup(ctx context.Context) {
	if !a.cleaned {
		removeRemote(ctx, a.c, a.tmpDir, "temp")
	}
}
