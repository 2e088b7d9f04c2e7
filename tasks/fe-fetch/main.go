// Command fe-fetch downloads a file (an fe-archive tar.gz) from the FE host
// by SFTP, verifying its SHA-256 before it appears at the local path.
package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/cliflags"
	"github.com/starrocks-backup/srbackup/pkg/fe"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

func main() {
	var o fe.FetchOptions
	flags := cliflags.SSH(&o.SSH)
	flags = append(flags,
		&cli.StringFlag{Name: "remote-path", Required: true, Destination: &o.RemotePath,
			Usage: "file on the host, e.g. the remote_path of fe-archive"},
		&cli.StringFlag{Name: "local-path", Required: true, Destination: &o.LocalPath,
			Usage: "where to write it; it appears only once verified"},
		&cli.StringFlag{Name: "sha256", Destination: &o.SHA256,
			Usage: "expected SHA-256 (the sha256 of fe-archive); when empty, the host's sha256sum of the file"},
		&cli.BoolFlag{Name: "remove-remote", Destination: &o.RemoveRemote,
			Usage: "delete the remote file after a verified fetch"},
	)
	taskrun.Main(taskrun.Task{
		Name:        "fe-fetch",
		Usage:       "download an FE archive from the FE host by SFTP, verified by SHA-256",
		Description: cliflags.SSHCredentials(),
		Flags:       flags,
		Run:         func(ctx context.Context) (any, error) { return fe.Fetch(ctx, o) },
	})
}
