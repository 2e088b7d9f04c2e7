package fe

import (
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/archive"
	"github.com/starrocks-backup/srbackup/pkg/localfile"
	"github.com/starrocks-backup/srbackup/pkg/sshx"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// ExtractOptions are the inputs of Extract.
type ExtractOptions struct {
	SSH       sshx.Options
	LocalPath string // the archive, on this machine
	Dir       string // the FE folder on the host
	// Includes names top-level entries to restore besides meta, conf and
	// small_files (what fe-archive puts in); "." restores every entry.
	// An archive holding other entries is refused.
	Includes []string
	// Force restores even when the FE looks running.
	Force bool
	// Ports is a comma-separated list of ports whose listening socket
	// means a running FE; "" means 9010,9030, "none" no port check. The
	// ports fe.conf sets (edit_log_port, query_port) are checked too,
	// unless "none".
	Ports string
	// ResetElectionGroup sets bdbje_reset_election_group = true in the
	// restored conf/fe.conf, for a restore on a new host.
	ResetElectionGroup bool

	now func() time.Time
}

// ExtractResult is fe-extract's part of the result line.
type ExtractResult struct {
	Host      string `json:"host"`
	FEDir     string `json:"fe_dir"`
	LocalPath string `json:"local_path"`
	// MetaDir is where meta/ was restored: the meta_dir of the fe.conf the
	// FE will read (the archive's, else the host's), symbolic links followed.
	MetaDir            string     `json:"meta_dir,omitempty"`
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

// extractPlan is ExtractOptions checked, with the defaults applied.
type extractPlan struct {
	local, dir string
	allowed    map[string]bool // top-level names to restore; nil: any
	ports      []int
	force      bool
	reset      bool
	now        func() time.Time
}

func (o *ExtractOptions) validate() (*extractPlan, error) {
	p := &extractPlan{local: o.LocalPath, force: o.Force, reset: o.ResetElectionGroup, now: o.now}
	if p.local == "" {
		return nil, usage.Errorf("--local-path is required")
	}
	fi, err := os.Stat(p.local)
	if err != nil {
		return nil, usage.Errorf("--local-path %s: %v", p.local, localfile.Reason(err))
	}
	if !fi.Mode().IsRegular() {
		return nil, usage.Errorf("--local-path %s is not a regular file", p.local)
	}
	if p.dir, err = checkFEDir(o.Dir); err != nil {
		return nil, err
	}
	switch strings.TrimSpace(o.Ports) {
	case "":
		p.ports = defaultPorts
	case "none":
	default:
		if p.ports, err = parsePorts("--fe-ports", o.Ports); err != nil {
			return nil, err
		}
	}
	names, err := cleanIncludes(o.Includes)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(names, ".") {
		p.allowed = map[string]bool{}
		for _, in := range defaultIncludes {
			p.allowed[in.Path] = true
		}
		for _, n := range names {
			if strings.Contains(n, "/") {
				return nil, usage.Errorf("--include %s: give a top-level name of the archive (bin, lib, ...)", n)
			}
			p.allowed[n] = true
		}
	}
	if p.now == nil {
		p.now = time.Now
	}
	return p, nil
}

// checked is what the local check of the archive learned.
type checked struct {
	sum       *archive.Summary
	version   *int64
	clusterID string
	conf      *string // conf/fe.conf, when the archive has it
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
		if m.Name != "meta/image/VERSION" && m.Name != "conf/fe.conf" {
			return nil
		}
		b, err := io.ReadAll(io.LimitReader(r, 4<<20))
		if err != nil {
			return fmt.Errorf("%w: %v", archive.ErrCorrupt, err)
		}
		if m.Name == "conf/fe.conf" {
			text := string(b)
			ck.conf = &text
		} else {
			ck.clusterID = parseClusterID(string(b))
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("archive %s: %w; nothing was changed on the host", p, err)
	}
	ck.sum = sum
	if v, ok := imageVersion(names); ok {
		ck.version = &v
	}
	return ck, nil
}

// refuseExtra refuses an archive holding top-level entries that fe-archive
// does not put in (bin/, lib/, from an archive of the whole folder) and
// --include does not name: restoring them unasked would replace the FE's
// programs with the archive's, perhaps of another version. Refusing, not
// skipping, so that nobody believes such an archive was restored whole.
func (p *extractPlan) refuseExtra(top []string) error {
	var extra []string
	for _, n := range top {
		if strings.ContainsAny(n, "\n\x00") {
			return fmt.Errorf("the archive holds a top-level entry with a control character in its name (%q); nothing was changed", n)
		}
		if p.allowed != nil && !p.allowed[n] {
			extra = append(extra, n)
		}
	}
	if len(extra) == 0 {
		return nil
	}
	return fmt.Errorf("the archive holds %s, which fe-extract restores only when --include names them "+
		"(it restores meta, conf and small_files, what fe-archive puts in); nothing was changed", strings.Join(extra, ", "))
}

// Extract restores an FE archive into the FE folder on the host, safely:
// it refuses while the FE runs (unless Force) and archives holding more
// than it should restore, checks every member of the archive locally
// before sending anything, pushes it by SFTP into a staging folder, verifies
// its SHA-256 there, extracts it in the staging folder, and then swaps each
// top-level entry in by renames, keeping the previous one as
// <path>.before-restore-<UTC timestamp>. meta/ goes where the FE reads it:
// the meta_dir of the fe.conf it will read, a symbolic link followed; when
// that is on another filesystem, its staging folder and the kept copy are
// there. Failures before the swap change nothing and remove the staging
// folders.
func Extract(ctx context.Context, o ExtractOptions) (*ExtractResult, error) {
	log := zerolog.Ctx(ctx)
	p, err := o.validate()
	if err != nil {
		return nil, err
	}
	cfg, err := o.SSH.Resolve()
	if err != nil {
		return nil, err
	}
	res := &ExtractResult{Host: cfg.Addr(), FEDir: p.dir, LocalPath: p.local, Forced: p.force, Replaced: []Replaced{}}

	ck, err := checkLocal(p.local)
	if err != nil {
		return res, err
	}
	res.SHA256, res.Size, res.Files = ck.sum.SHA256, ck.sum.Size, ck.sum.Files
	res.ImageVersion, res.ClusterID = ck.version, ck.clusterID
	if err := p.refuseExtra(ck.sum.TopLevel); err != nil {
		return res, err
	}
	if !slices.Contains(ck.sum.TopLevel, "meta") {
		log.Warn().Strs("top_level", ck.sum.TopLevel).Msg("the archive holds no meta/ folder: only its other entries are restored")
	}
	log.Info().Str("local_path", p.local).Int("files", ck.sum.Files).Strs("top_level", ck.sum.TopLevel).
		Str("sha256", ck.sum.SHA256).Msg("archive checked: every member is safe to extract")

	c, err := sshx.Dial(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer c.Close()

	st, err := inspect(ctx, c, p.dir, p.ports)
	if err != nil {
		return res, err
	}
	if st.running() {
		res.FERunning = true
		if !p.force {
			return res, fmt.Errorf("the FE is running (%s): stop it before restoring, or give --force; nothing was changed", st.why())
		}
		log.Warn().Str("why", st.why()).Msg("the FE looks running and --force was given: restoring anyway; restart the FE afterwards")
	}
	if p.reset && ck.conf == nil && !st.HasConf {
		return res, fmt.Errorf("--reset-election-group: neither the archive nor %s has conf/fe.conf; nothing was changed", p.dir)
	}
	conf := st.Conf
	if ck.conf != nil {
		conf = *ck.conf // the fe.conf the FE will read after the restore
	}
	x := &extractor{c: c, p: p, res: res, stamp: timestamp(p.now()), metaCfg: metaDir(p.dir, conf)}
	defer x.cleanup(ctx)
	if err := x.stage(ctx, ck); err != nil {
		return res, err
	}
	if p.reset && ck.conf != nil {
		if err := x.resetElectionGroup(ctx, path.Join(x.stagingFE, "root", "conf", "fe.conf")); err != nil {
			return res, err
		}
	}
	if !p.force {
		st, err := inspect(ctx, c, p.dir, p.ports)
		if err != nil {
			return res, err
		}
		if st.running() {
			res.FERunning = true
			return res, fmt.Errorf("the FE started during the restore (%s): nothing was changed", st.why())
		}
	}
	if err := x.swap(ctx, ck.sum.TopLevel); err != nil {
		return res, err
	}
	if p.reset && ck.conf == nil {
		if err := x.resetElectionGroup(ctx, path.Join(p.dir, "conf", "fe.conf")); err != nil {
			return res, err
		}
	}
	for _, r := range res.Replaced {
		log.Info().Str("path", r.Path).Str("previous", r.Previous).Msg("restored")
	}
	if p.reset {
		log.Info().Msg("bdbje_reset_election_group = true is set: start the FE, check it is LEADER (SHOW FRONTENDS), " +
			"remove the setting from fe.conf, restart it, then re-add followers, observers and compute nodes")
	}
	return res, nil
}
