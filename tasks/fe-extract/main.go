// Command fe-extract restores an FE archive into the FE folder on the host:
// refused while the FE runs, members checked before anything is sent, the
// archive verified and extracted in a staging folder, then swapped in by
// renames with the previous copies kept.
package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/cliflags"
	"github.com/starrocks-backup/srbackup/pkg/fe"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

func main() {
	var o fe.ExtractOptions
	var includes cli.StringSlice
	flags := cliflags.SSH(&o.SSH)
	flags = append(flags,
		&cli.StringFlag{Name: "local-path", Required: true, Destination: &o.LocalPath,
			Usage: "the FE archive (tar.gz) on this machine"},
		&cli.StringFlag{Name: "fe-dir", Required: true, Destination: &o.Dir,
			Usage: "FE folder on the host, e.g. /opt/starrocks/fe"},
		&cli.StringSliceFlag{Name: "include", Destination: &includes, DefaultText: "meta, conf, small_files",
			Usage: "top-level entry of the archive to restore besides meta, conf and small_files (repeatable; the variable " +
				"takes a comma-separated list); \".\" restores every entry; an archive holding others is refused"},
		&cli.StringFlag{Name: "fe-ports", Value: "9010,9030", Destination: &o.Ports,
			Usage: "FE ports whose listening socket means the FE runs (also those fe.conf sets); \"none\" to skip"},
		&cli.BoolFlag{Name: "force", Destination: &o.Force,
			Usage: "restore even when the FE looks running"},
		&cli.BoolFlag{Name: "reset-election-group", Destination: &o.ResetElectionGroup,
			Usage: "set bdbje_reset_election_group = true in the restored conf/fe.conf (restore on a new host)"},
	)
	taskrun.Main(taskrun.Task{
		Name:        "fe-extract",
		Usage:       "restore an FE archive into the FE folder on the host, safely",
		Description: cliflags.SSHCredentials(),
		Flags:       flags,
		Run: func(ctx context.Context) (any, error) {
			o.Includes = includes.Value()
			return fe.Extract(ctx, o)
		},
	})
}
