package fe

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/checksum"
	"github.com/starrocks-backup/srbackup/pkg/sshx"
)

// extractor holds one restore's remote state.
type extractor struct {
	c       *sshx.Client
	p       *extractPlan
	res     *ExtractResult
	stamp   string
	metaCfg string // the meta_dir the restored FE reads
	// stagingMeta holds meta/ (beside the real meta folder when that is on
	// another filesystem than the FE folder), stagingFE the other entries;
	// often one folder.
	stagingMeta, stagingFE string
	keep                   bool // the staging folders must stay (a failed rollback)
}

// stage creates the staging folders, pushes the archive, verifies it and
// extracts it there.
func (x *extractor) stage(ctx context.Context, ck *checked) error {
	top := ck.sum.TopLevel
	hasMeta := slices.Contains(top, "meta")
	others := len(top) > 1 || !hasMeta
	s := sshx.NewScript(extractStage).Set("d", x.p.dir).Set("metacfg", x.metaCfg).Set("tag", x.stamp+"-"+randHex(4)).
		Set("hasmeta", b01(hasMeta)).Set("others", b01(others))
	sec, err := x.c.RunSections(ctx, s)
	x.stagingMeta, x.stagingFE = sec["staging-meta"], sec["staging-fe"]
	if err != nil {
		if x.stagingFE == "" {
			x.stagingFE = x.stagingMeta
		}
		return fmt.Errorf("prepare the restore on %s: %w; nothing was changed", x.c.Target(), err)
	}
	main := x.stagingFE
	if hasMeta {
		main, x.res.MetaDir = x.stagingMeta, sec["meta"]
	}
	t, err := x.c.Upload(ctx, x.p.local, path.Join(main, "archive.tar.gz"))
	if err != nil {
		return err
	}
	if t.SHA256 != ck.sum.SHA256 {
		return fmt.Errorf("%s changed while it was sent (sha256 %s, checked %s); nothing was changed", x.p.local, t.SHA256, ck.sum.SHA256)
	}
	// The host's sha256sum checks the pushed copy before it is extracted.
	u := sshx.NewScript(extractUnpack).Set("s", main).Set("sf", x.stagingFE).Set("want", ck.sum.SHA256).
		Set("top", strings.Join(top, "\n"))
	sec, err = x.c.RunSections(ctx, u)
	var re *sshx.RemoteError
	if errors.As(err, &re) && re.ExitCode == 4 {
		remote, _ := sec.Value("sha", "sha256")
		return fmt.Errorf("the archive pushed to %s has sha256 %s, the local file %s: %w; nothing was changed",
			x.c.Target(), remote, ck.sum.SHA256, checksum.ErrMismatch)
	}
	if err != nil {
		return fmt.Errorf("extract the archive on %s: %w; nothing was changed", x.c.Target(), err)
	}
	zerolog.Ctx(ctx).Info().Str("staging", main).Int64("size", t.Size).Float64("bytes_per_s", t.BytesPerSec()).
		Msg("archive pushed, verified and extracted on the host")
	return nil
}

func b01(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// swap renames the staged entries into place (see swapPlan).
func (x *extractor) swap(ctx context.Context, names []string) error {
	sc, err := x.c.SFTP()
	if err != nil {
		return err
	}
	var entries []Replaced
	for _, n := range names {
		r := Replaced{Name: n, Path: path.Join(x.p.dir, n), staged: path.Join(x.stagingFE, "root", n)}
		if n == "meta" {
			r.Path, r.staged = x.res.MetaDir, path.Join(x.stagingMeta, "root", n)
		}
		entries = append(entries, r)
	}
	plan := newSwapPlan(x.stamp, entries, lexists(sc.Lstat))
	_, err = x.c.Run(ctx, plan.script().String())
	var re *sshx.RemoteError
	switch {
	case errors.As(err, &re) && strings.Contains(re.Stderr, "ROLLBACK FAILED"):
		x.keep = true
		return fmt.Errorf("swap into %s failed and could not be undone: %s; the restored entries are in %s, the previous ones in *%s%s",
			x.p.dir, sshx.LastLines(re.Stderr, 3), x.stagingFE, beforeRestore, x.stamp)
	case errors.As(err, &re):
		return fmt.Errorf("swap into %s: %w", x.p.dir, err)
	case err != nil:
		x.keep = true // we cannot know how far it went
		return fmt.Errorf("swap the restored entries into %s: %w; check the folder and %s", x.p.dir, err, x.stagingFE)
	}
	x.res.Replaced = plan
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
	out, changed := setConf(text, resetElectionGroupKey, "true")
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
		return fmt.Errorf("set %s in %s: %w", resetElectionGroupKey, p, werr)
	}
	zerolog.Ctx(ctx).Info().Str("fe_conf", p).Msg("set bdbje_reset_election_group = true")
	return nil
}

// cleanup removes the staging folders (with the pushed archive), also when
// ctx was cancelled, unless a failed rollback left data only there.
func (x *extractor) cleanup(ctx context.Context) {
	if x.keep {
		zerolog.Ctx(ctx).Warn().Str("staging", x.stagingFE).Str("staging_meta", x.stagingMeta).
			Msg("staging folder kept: it may hold the only copy of restored entries")
		return
	}
	removeRemote(ctx, x.c, x.stagingFE, "staging")
	if x.stagingMeta != x.stagingFE {
		removeRemote(ctx, x.c, x.stagingMeta, "staging")
	}
}
