// Command mirror makes a target bucket folder hold the same objects as a
// source bucket folder, on one S3 server or across two: MinIO → S3 for a
// backup of StarRocks' data, S3 → MinIO for its restore. It never deletes
// unless told to (--remove), and never reports success for a partial copy.
package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/cliflags"
	"github.com/starrocks-backup/srbackup/pkg/mirror"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

func main() {
	var o mirror.Options
	var excludes cli.StringSlice
	flags := []cli.Flag{
		&cli.StringFlag{Name: "source", Required: true, Destination: &o.SourcePath,
			Usage: "source BUCKET[/PREFIX] (or s3://BUCKET[/PREFIX]); the prefix is a folder"},
		&cli.StringFlag{Name: "target", Required: true, Destination: &o.TargetPath,
			Usage: "target BUCKET[/PREFIX]; keys map by swapping the source prefix for this one"},
	}
	flags = append(flags, cliflags.S3Endpoint("source", &o.Source)...)
	flags = append(flags, cliflags.S3Endpoint("target", &o.Target)...)
	flags = append(flags,
		&cli.IntFlag{Name: "workers", Value: mirror.DefaultWorkers, Destination: &o.Workers,
			Usage: "objects copied at once, 1-512 (the default was measured for many small objects, see docs/benchmarks.md)"},
		&cli.IntFlag{Name: "retries", Value: mirror.DefaultRetries, Destination: &o.Retries,
			Usage: "times a failed request (listing, copy, HEAD, deletion) is tried again, with backoff; never for a configuration error (region, credentials, bucket)"},
		&cli.BoolFlag{Name: "remove", Destination: &o.Remove,
			Usage: "delete target objects absent from the source; only after every copy succeeded, and never more than --max-delete"},
		&cli.IntFlag{Name: "max-delete", Value: mirror.DefaultMaxDelete, Destination: &o.MaxDelete,
			Usage: "with --remove: when more target objects would be deleted, delete none and fail"},
		&cli.BoolFlag{Name: "dry-run", Destination: &o.DryRun,
			Usage: "list and compare, log what would be copied and deleted, change nothing"},
		&cli.StringSliceFlag{Name: "exclude", Destination: &excludes,
			Usage: "glob of keys (relative to the prefix) neither copied nor deleted; repeatable (comma-separated in SRB_EXCLUDE). " +
				"* and ? stop at '/', ** crosses it: '**/*.lock', 'tmp/**'"},
		&cli.BoolFlag{Name: "allow-empty-source", Destination: &o.AllowEmptySource,
			Usage: "accept a source holding no object (without it such a run fails: a mistyped source must not look like an empty backup)"},
		&cli.BoolFlag{Name: "verify", Destination: &o.Verify,
			Usage: "after copying, list both sides again and fail if any key, size or recorded ETag differs"},
		&cli.StringFlag{Name: "manifest", Destination: &o.Manifest,
			Usage: "after a complete run, write the backup set's data listing here in the target bucket (backups/<id>/data.jsonl.gz): every source object with what the target holds for it (its version on a versioned bucket)"},
		&cli.StringFlag{Name: "from-manifest", Destination: &o.FromManifest,
			Usage: "restore a backup set: copy exactly the objects its manifest (backups/<id>/manifest.json in the source bucket) lists, at their recorded versions; with --remove the target then holds exactly them"},
		&cli.IntFlag{Name: "list-workers", Value: mirror.DefaultListWorkers, Destination: &o.ListWorkers,
			Usage: "parts of the key space listed at once on each side, 1-256 (found by delimiter listings of the source; 1: one sequential listing)"},
		&cli.IntFlag{Name: "part-workers", Value: mirror.DefaultPartWorkers, Destination: &o.PartWorkers,
			Usage: "parts of objects above 64 MiB copied at once over all objects, 1-64 (each holds an 8 MiB buffer when the copy crosses servers)"},
		&cli.StringFlag{Name: "key-range", Destination: &o.KeyRange,
			Usage: "only the keys (relative to the prefixes) in START..END, half-open, each bound percent-encoded ('.' as %2E), empty for open; " +
				"copies, --verify, --remove and --exclude act only inside it: pass one of --plan's ranges verbatim to each shard"},
		&cli.IntFlag{Name: "plan", Destination: &o.Plan,
			Usage: "plan N shards, 1-1024: discover the source's key space (no full listing), copy nothing, and return N ranges of balanced " +
				"estimated size in the result's \"ranges\" (and \"estimates\": objects each), for --key-range"},
		&cli.DurationFlag{Name: "progress-interval", Value: mirror.DefaultProgressInterval, Destination: &o.ProgressInterval,
			Usage: "log a progress line this often (0: never)"},
	)
	taskrun.Main(taskrun.Task{
		Name:  "mirror",
		Usage: "mirror a bucket folder to another, incrementally and safely (MinIO → S3 backup, S3 → MinIO restore)",
		Description: "Copies objects missing at the target or differing in size or content (ETags, and the source ETag " +
			"recorded on every copy; never modification times). Server-side copy when both sides are the same endpoint " +
			"and credentials. Exit 1 when any object failed; nothing is deleted unless --remove. " +
			fmt.Sprintf("Source: %s Target: %s", cliflags.S3Credentials("source"), cliflags.S3Credentials("target")),
		Flags: flags,
		Run: func(ctx context.Context) (any, error) {
			o.Excludes = excludes.Value()
			return mirror.Run(ctx, o)
		},
	})
}
