// Command fe-archive builds a gzip tar of a StarRocks FE folder's metadata
// on the FE host, over SSH, honouring the BDB JE hot-copy rule, and reports
// its remote path, SHA-256, image version and cluster id.
package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/cliflags"
	"github.com/starrocks-backup/srbackup/pkg/fe"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

func main() {
	var o fe.ArchiveOptions
	var includes cli.StringSlice
	flags := cliflags.SSH(&o.SSH)
	flags = append(flags,
		&cli.StringFlag{Name: "fe-dir", Required: true, Destination: &o.Dir,
			Usage: "FE folder on the host, e.g. /opt/starrocks/fe"},
		&cli.StringFlag{Name: "remote-archive", Destination: &o.RemoteArchive, DefaultText: "/tmp/fe-meta-<UTC timestamp>-<random>.tar.gz",
			Usage: "path of the tar.gz to build on the host; must not exist"},
		&cli.StringSliceFlag{Name: "include", Destination: &includes, DefaultText: "meta, conf, small_files",
			Usage: "path to archive, relative to --fe-dir (repeatable; the variable takes a comma-separated list); " +
				"\".\" archives the whole folder; checkpoints in progress (*.ckpt), temp, lock and pid files are never archived"},
		&cli.IntFlag{Name: "gzip-level", Value: 6, Destination: &o.GzipLevel,
			Usage: "gzip level, 1 (fastest) to 9 (smallest)"},
		&cli.DurationFlag{Name: "max-catch-up", Value: fe.DefaultMaxCatchUp, Destination: &o.MaxCatchUp,
			Usage: "how long the passes that append files a live FE creates during the copy may go on; then the copy stops " +
				"at the next pass in which no file vanished (consistent, converged:false in the result)"},
		&cli.BoolFlag{Name: "allow-empty", Destination: &o.AllowEmpty,
			Usage: "succeed even when the metadata has no .jdb file, meta/image/VERSION or finished image (a new, empty FE)"},
		&cli.IntFlag{Name: "gzip-jobs", Destination: &o.GzipJobs, DefaultText: "the host's CPUs, at most 4",
			Usage: "gzip processes compressing parts of the tar at once (niced); the parts form one multi-member gzip file"},
	)
	taskrun.Main(taskrun.Task{
		Name:        "fe-archive",
		Usage:       "archive a StarRocks FE's metadata on the FE host over SSH (safe hot copy)",
		Description: cliflags.SSHCredentials(),
		Flags:       flags,
		Run: func(ctx context.Context) (any, error) {
			o.Includes = includes.Value()
			return fe.Archive(ctx, o)
		},
	})
}
