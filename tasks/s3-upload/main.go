// Command s3-upload streams one local file to S3 with its SHA-256 stored as
// object metadata, and never replaces an existing key unless told to.
package main

import (
	"context"

	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/cliflags"
	"github.com/starrocks-backup/srbackup/pkg/s3xfer"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

func main() {
	var o s3xfer.UploadOptions
	flags := cliflags.S3Endpoint("", &o.S3)
	flags = append(flags, cliflags.Transfer(&o.Transfer)...)
	flags = append(flags,
		&cli.BoolFlag{Name: "overwrite", Destination: &o.Overwrite, Usage: "replace the object if the key exists (refused by default)"},
		&cli.StringFlag{Name: "sha256", Destination: &o.SHA256, Usage: "expected SHA-256 of the file (e.g. fe-fetch's); a file that differs is not uploaded"},
	)
	taskrun.Main(taskrun.Task{
		Name:        "s3-upload",
		Usage:       "upload a file to S3 with its SHA-256, never silently replacing an object",
		Description: cliflags.S3Credentials(""),
		Flags:       flags,
		Run:         func(ctx context.Context) (any, error) { return s3xfer.Upload(ctx, o) },
	})
}
