package fe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/archive"
	"github.com/starrocks-backup/srbackup/pkg/checksum"
	"github.com/starrocks-backup/srbackup/pkg/localfile"
	"github.com/starrocks-backup/srbackup/pkg/sshx"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// ExtractOptions are the inputs of Extract.
type ExtractOptions struct {
	SSH       sshx.Options
	LocalPath string // the archive, on this machine
	Dir       string // the FE folder on the host
	// Force restores even when the FE looks running.
	Force bool
	// Ports is a comma-separated list of ports whose listening socket
	// means a running FE; "" means DefaultPorts (9010,9030), "none" no
	// port check. The ports fe.conf sets (edit_log_port, query_port) are
	// checked too, unless "none".
	Ports string
	// ResetElectionGroup sets bdbje_reset_election_group = true in the
	// restored conf/fe.conf, for a restore on a new host.
	ResetElectionGroup bool

	ports []int
	now   func() time.Time
}

// ExtractResult is fe-extract's part of the result line.
type ExtractResult struct {
	Host               string     `json:"host"`
	FEDir              string     `json:"fe_dir"`
	LocalPath          string     `json:"local_path"`
	SHA256             string     `json:"sha256,omitempty"`
	Size               int64      `json:"size"`
	Files              int        `json:"files"`
	ImageVersion       *int64     `json:"image_version,omitempty"`
	ClusterID          string     `json:"cluster_id,omitempty"`
	Replaced           []Replaced `json:"replaced"`
	ResetElectionGroup bool       `json:"reset_election_group"`
	FERunning          bool       `json:"fe_running"`
	Forced             bool       `json:"forced"`
}

func (o *ExtractOptions) validate() error {
	if o.LocalPath == "" {
		return usage.Errorf("--local-path is required")
	}
	fi, err := os.Stat(o.LocalPath)
	if err != nil {
		return usage.Errorf("--local-path %s: %v", o.LocalPath, localfile.Reason(err))
	}
	if !fi.Mode().IsRegular() {
		return usage.Errorf("--local-path %s is not a regular file", o.LocalPath)
	}
	if err := sshx.CheckRemotePath("--fe-dir", o.Dir); err != nil {
		return err
	}
	o.Dir = path.Clean(o.Dir)
	if o.Dir == "/" {
		return usage.Errorf("--fe-dir / is not an FE folder")
	}
	switch strings.TrimSpace(o.Ports) {
	case "":
		o.ports = DefaultPorts
	case "none":
		o.ports = nil
	default:
		if o.ports, err = ParsePorts("--fe-ports", o.Ports); err != nil {
			return err
		}
	}
	if o.now == nil {
		o.now = time.Now
	}
	return nil
}

// checked is what the local check of the archive learned.
type checked struct {
	sum       *archive.Summary
	version   *int64
	clusterID string
	hasConf   bool
}

// checkLocal checks every member of the archive before anything is sent.
func checkLocal(p string) (*checked, error) {
	ck := &checked{}
	var names []string
	sum, err := archive.Check(p, func(m archive.Member, r io.Reader) error {
		if m.IsDir() {
			return nil
		}
		names = append(names, m.Name)
		switch m.Name {
		case "meta/image/VERSION":
			b, err := io.ReadAll(io.LimitReader(r, 64<<10))
			if err != nil {
				return fmt.Errorf("%w: %v", archive.ErrCorrupt, err)
			}
			ck.clusterID = ParseClusterID(string(b))
		case "conf/fe.conf":
			ck.hasConf = true
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w; nothing was changed on the host", p, err)
	}
	ck.sum = sum
	if v, ok := ImageVersion(names); ok {
		ck.version = &v
	}
	return ck, nil
}

// Extract restores an FE archive into the FE folder on the host, safely:
// it refuses while the FE runs (unless Force), checks every member of the
// archive locally before sending anything, pushes it by SFTP into a
// staging folder beside the FE folder, verifies its SHA-256 there,
// extracts it in the staging folder, and then swaps each top-level entry
// (meta/, conf/, ...) by renames, keeping the previous one as
// <name>.before-restore-<UTC timestamp>. Failures before the swap leave
// the FE folder untouched and remove the staging folder.
func Extract(ctx context.Context, o ExtractOptions) (*ExtractResult, error) {
	log := zerolog.Ctx(ctx)
	if err := o.validate(); err != nil {
		return nil, err
	}
	cfg, err := o.SSH.Resolve()
	if err != nil {
		return nil, err
	}
	res := &ExtractResult{Host: cfg.Addr(), FEDir: o.Dir, LocalPath: o.LocalPath, Forced: o.Force, Replaced: []Replaced{}}

	ck, err := checkLocal(o.LocalPath)
	if err != nil {
		return res, err
	}
	res.SHA256, res.Size, res.Files = ck.sum.SHA256, ck.sum.Size, ck.sum.Files
	res.ImageVersion, res.ClusterID = ck.version, ck.clusterID
	if !slices.Contains(ck.sum.TopLevel, "meta") {
		log.Warn().Strs("top_level", ck.sum.TopLevel).Msg("the archive holds no meta/ folder: only its other entries are restored")
	}
	log.Info().Str("local_path", o.LocalPath).Int("files", ck.sum.Files).Strs("top_level", ck.sum.TopLevel).
		Str("sha256", ck.sum.SHA256).Msg("archive checked: every member is safe to extract")

	c, err := sshx.Dial(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer c.Close()

	st, err := Inspect(ctx, c, o.Dir, o.ports)
	if err != nil {
		return res, err
	}
	if st.Running() {
		res.FERunning = true
		if !o.Force {
			return res, fmt.Errorf("the FE is running (%s): stop it before restoring, or give --force; nothing was changed", st.Why())
		}
		log.Warn().Str("why", st.Why()).Msg("the FE looks running and --force was given: restoring anyway; restart the FE afterwards")
	}
	if o.ResetElectionGroup && !ck.hasConf && !st.HasConf {
		return res, fmt.Errorf("--reset-election-group: neither the archive nor %s has conf/fe.conf; nothing was changed", o.Dir)
	}

	stamp := Timestamp(o.now())
	x := &extractor{c: c, o: &o, res: res, stamp: stamp,
		staging: path.Join(path.Dir(o.Dir), "."+path.Base(o.Dir)+".fe-extract-"+stamp+"-"+randHex(4))}
	defer x.cleanup(ctx)
	if err := x.stage(ctx, ck); err != nil {
		return res, err
	}
	if o.ResetElectionGroup && ck.hasConf {
		if err := x.resetElectionGroup(ctx, path.Join(x.root(), "conf", "fe.conf")); err != nil {
			return res, err
		}
	}
	if !o.Force {
		st, err := Inspect(ctx, c, o.Dir, o.ports)
		if err != nil {
			return res, err
		}
		if st.Running() {
			res.FERunning = true
			return res, fmt.Errorf("the FE started during the restore (%s): nothing was changed", st.Why())
		}
	}
	if err := x.swap(ctx, ck.sum.TopLevel); err != nil {
		return res, err
	}
	if o.ResetElectionGroup && !ck.hasConf {
		if err := x.resetElectionGroup(ctx, path.Join(o.Dir, "conf", "fe.conf")); err != nil {
			return res, err
		}
	}
	for _, r := range res.Replaced {
		log.Info().Str("path", r.Path).Str("previous", r.Previous).Msg("restored")
	}
	if o.ResetElectionGroup {
		log.Info().Msg("bdbje_reset_election_group = true is set: start the FE, check it is LEADER (SHOW FRONTENDS), " +
			"remove the setting from fe.conf, restart it, then re-add followers, observers and compute nodes")
	}
	return res, nil
}

// extractor holds one restore's remote state.
type extractor struct {
	c       *sshx.Client
	o       *ExtractOptions
	res     *ExtractResult
	stamp   string
	staging string
	keep    bool // the staging folder must stay (a failed rollback)
	cleaned bool // the staging folder is gone
}

func (x *extractor) root() string    { return path.Join(x.staging, "root") }
func (x *extractor) archive() string { return path.Join(x.staging, "archive.tar.gz") }

// stage creates the staging folder on the FE folder's filesystem, pushes
// the archive, verifies it and extracts it there.
func (x *extractor) stage(ctx context.Context, ck *checked) error {
	log := zerolog.Ctx(ctx)
	s := sshx.NewScript().Set("d", x.o.Dir).Set("s", x.staging)
	s.Line(`[ -d "$d" ] || die "FE folder $d does not exist on the host"`)
	s.Line(`for t in tar gzip sha256sum stat mv; do command -v "$t" >/dev/null 2>&1 || die "$t is not installed on the host"; done`)
	s.Line(`mkdir -m 700 -- "$s" || die "cannot create the staging folder $s beside the FE folder"`)
	s.Line(`mkdir -m 700 -- "$s/root" || die "cannot create $s/root"`)
	s.Line(`[ "$(stat -c %d -- "$d")" = "$(stat -c %d -- "$s")" ] || die "the staging folder $s is on another filesystem than $d: the swap would not be a rename"`)
	if _, err := x.c.Run(ctx, s.String()); err != nil {
		return fmt.Errorf("prepare the restore on %s: %w", x.c.Target(), err)
	}
	t, err := x.c.Upload(ctx, x.o.LocalPath, x.archive())
	if err != nil {
		return err
	}
	if t.SHA256 != ck.sum.SHA256 {
		return fmt.Errorf("%s changed while it was sent (sha256 %s, checked %s); nothing was changed", x.o.LocalPath, t.SHA256, ck.sum.SHA256)
	}
	// Verify the pushed copy with the host's sha256sum, then extract it.
	e := sshx.NewScript().Set("s", x.staging).Set("want", ck.sum.SHA256)
	e.Line(`sum=$(sha256sum -- "$s/archive.tar.gz" | cut -c 1-64) || die "sha256sum failed on the host"`)
	e.Line(`echo "sha256=$sum"`)
	e.Line(`[ "$sum" = "$want" ] || exit 4`)
	e.Line(`cd -- "$s/root" || die "cannot enter $s/root"`)
	e.Line(`run_bg tar --extract --gzip --file="$s/archive.tar.gz" --delay-directory-restore || die "tar could not extract the archive"`)
	e.Line(`rm -f -- "$s/archive.tar.gz"`)
	for _, n := range ck.sum.TopLevel {
		e.Linef(`{ [ -e %s ] || [ -L %s ]; } || die "the archive's" %s "was not extracted"`, n, n, n)
	}
	out, err := x.c.Run(ctx, e.String())
	var re *sshx.RemoteError
	if errors.As(err, &re) && re.ExitCode == 4 {
		remote, _ := kv(out, "sha256")
		return fmt.Errorf("the archive pushed to %s has sha256 %s, the local file %s: %w; nothing was changed",
			x.c.Target(), remote, ck.sum.SHA256, checksum.ErrMismatch)
	}
	if err != nil {
		return fmt.Errorf("extract the archive on %s: %w; nothing was changed", x.c.Target(), err)
	}
	log.Info().Str("staging", x.staging).Int64("size", t.Size).Float64("bytes_per_s", t.BytesPerSec()).
		Msg("archive pushed, verified and extracted on the host")
	return nil
}

// swap renames the staged entries into the FE folder (see Plan).
func (x *extractor) swap(ctx context.Context, names []string) error {
	sc, err := x.c.SFTP()
	if err != nil {
		return err
	}
	infos, err := sc.ReadDir(x.o.Dir)
	if err != nil {
		return fmt.Errorf("list %s on the host: %w", x.o.Dir, err)
	}
	existing := map[string]bool{}
	for _, fi := range infos {
		existing[fi.Name()] = true
	}
	plan := NewPlan(x.o.Dir, x.root(), x.stamp, names, func(n string) bool { return existing[n] })
	out, err := x.c.Exec(ctx, plan.Script()+sshx.NewScript().Set("s", x.staging).Line(`rm -rf -- "$s" || true`).String())
	if err != nil {
		x.keep = true // we cannot know how far it went
		return fmt.Errorf("swap the restored entries into %s: %w; check the folder and %s", x.o.Dir, err, x.staging)
	}
	if out.ExitCode != 0 {
		if strings.Contains(out.Stderr, "ROLLBACK FAILED") {
			x.keep = true
			return fmt.Errorf("swap into %s failed and could not be undone: %s; the restored entries are in %s, the previous ones in *%s%s",
				x.o.Dir, sshx.LastLines(out.Stderr, 3), x.root(), BeforeRestore, x.stamp)
		}
		return fmt.Errorf("swap into %s: %s", x.o.Dir, sshx.LastLines(out.Stderr, 2))
	}
	x.res.Replaced = plan.Replaced
	x.cleaned = true
	return nil
}

// resetElectionGroup sets bdbje_reset_election_group = true in the fe.conf
// at p, replacing the file atomically and keeping its mode.
func (x *extractor) resetElectionGroup(ctx context.Context, p string) error {
	text, ok, err := readSmall(x.c, p)
	if err != nil {
		return err
	}
	if !ok {
		return fmt.Errorf("--reset-election-group: %s does not exist on the host", p)
	}
	out, changed := SetConf(text, ResetElectionGroupKey, "true")
	x.res.ResetElectionGroup = true
	if !changed {
		zerolog.Ctx(ctx).Info().Str("fe_conf", p).Msg("fe.conf already sets bdbje_reset_election_group = true")
		return nil
	}
	sc, err := x.c.SFTP()
	if err != nil {
		return err
	}
	fi, err := sc.Stat(p)
	if err != nil {
		return fmt.Errorf("stat %s: %w", p, err)
	}
	tmp := p + ".srb-tmp-" + randHex(4)
	f, err := sc.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL)
	if err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	_, werr := f.Write([]byte(out))
	cerr := f.Close()
	if werr == nil {
		werr = cerr
	}
	if werr == nil {
		werr = sc.Chmod(tmp, fi.Mode().Perm())
	}
	if werr == nil {
		werr = sc.PosixRename(tmp, p)
	}
	if werr != nil {
		_ = sc.Remove(tmp)
		return fmt.Errorf("set %s in %s: %w", ResetElectionGroupKey, p, werr)
	}
	zerolog.Ctx(ctx).Info().Str("fe_conf", p).Msg("set bdbje_reset_election_group = true")
	return nil
}

// cleanup removes the staging folder (with the pushed archive), also when
// ctx was cancelled, unless a failed rollback left data only there.
func (x *extractor) cleanup(ctx context.Context) {
	if x.cleaned {
		return
	}
	if x.keep {
		zerolog.Ctx(ctx).Warn().Str("staging", x.staging).Msg("staging folder kept: it may hold the only copy of restored entries")
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	s := sshx.NewScript().Set("s", x.staging).Line(`if [ -e "$s" ]; then chmod -R u+rwx -- "$s" 2>/dev/null; rm -rf -- "$s"; fi`)
	if _, err := x.c.Run(cctx, s.String()); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("staging", x.staging).Msg("could not remove the staging folder on the host; remove it by hand")
	}
}
