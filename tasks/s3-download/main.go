// Command s3-download fetches one object into a local file and checks it
// against the SHA-256 stored by s3-upload before the file appears.
package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/cliflags"
	"github.com/starrocks-backup/srbackup/pkg/s3xfer"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

func main() {
	var o s3xfer.DownloadOptions
	flags := cliflags.S3Endpoint("", &o.S3)
	flags = append(flags, cliflags.Transfer(&o.Transfer)...)
	flags = append(flags,
		&cli.StringFlag{Name: "latest-under", Destination: &o.LatestUnder, Usage: "instead of --key: download the newest object whose key starts with this prefix"},
		&cli.BoolFlag{Name: "allow-unverified", Destination: &o.AllowUnverified,
			Usage: "download an object that has no stored sha256 (not written by s3-upload); refused by default, as its content cannot be verified"},
	)
	taskrun.Main(taskrun.Task{
		Name:        "s3-download",
		Usage:       "download an object to a file, verified against its stored SHA-256",
		Description: cliflags.S3Credentials(""),
		Flags:       flags,
		Run:         func(ctx context.Context) (any, error) { return s3xfer.Download(ctx, o) },
	})
}
