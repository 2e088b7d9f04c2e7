package fe

import (
	"context"
	"crypto/rand"
	"embed"
	"encoding/hex"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/sshx"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

// The scripts run on the FE host, one file per job (shellcheck runs on
// them: make shellcheck). Go hands them values only as variables.
//
//go:embed scripts/*.sh
var scriptFiles embed.FS

func script(name string) string { return sshx.MustScript(scriptFiles, "scripts/"+name) }

var (
	archiveLib      = script("archive-lib.sh")
	archivePrepare  = archiveLib + script("archive-prepare.sh")
	archiveCopy     = archiveLib + script("archive-copy.sh")
	archiveCompress = script("archive-compress.sh")
	inspectScript   = script("inspect.sh")
	extractStage    = script("extract-stage.sh")
	extractUnpack   = script("extract-unpack.sh")
	swapScript      = script("swap.sh")
	removeScript    = script("remove.sh")
)

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// cleanupTimeout bounds the removal of a temp or staging folder; a second
// signal cuts it to taskrun.CleanupGrace.
const cleanupTimeout = 30 * time.Second

// removeRemote removes a temp or staging folder on the host, also when ctx
// was cancelled (SIGTERM from Airflow): it runs under
// taskrun.CleanupContext, which a second signal ends.
func removeRemote(ctx context.Context, c *sshx.Client, p, what string) {
	if p == "" {
		return
	}
	cctx, cancel := taskrun.CleanupContext(ctx, cleanupTimeout)
	defer cancel()
	if _, err := c.Run(cctx, sshx.NewScript(removeScript).Set("p", p).String()); err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str(what, p).Msg("could not remove the " + what + " folder on the host; remove it by hand")
	}
}
