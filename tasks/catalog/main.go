// Command catalog lists, verifies, commits and prunes the backup sets of an
// off-site bucket: "catalog list", "catalog latest", "catalog commit --id",
// "catalog verify --id", "catalog prune --keep-daily 7 ...".
package main

import (
	"context"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/backupset"
	"github.com/starrocks-backup/srbackup/pkg/catalog"
	"github.com/starrocks-backup/srbackup/pkg/cliflags"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

func main() {
	var o catalog.Options
	flags := cliflags.S3Endpoint("", &o.S3)
	flags = append(flags,
		&cli.StringFlag{Name: "bucket", EnvVars: []string{taskrun.EnvPrefixed("S3", "bucket")}, Required: true, Destination: &o.Bucket,
			Usage: "the off-site bucket"},
		&cli.StringFlag{Name: "sets-prefix", Value: backupset.DefaultSetsPrefix, Destination: &o.SetsPrefix,
			Usage: "folder holding one folder per backup set"},
		&cli.StringFlag{Name: "data-prefix", Value: backupset.DefaultDataPrefix, Destination: &o.DataPrefix,
			Usage: "folder of the shared data copy the sets' listings refer to"},
	)
	idFlag := func(dst *string, usage string) cli.Flag {
		return &cli.StringFlag{Name: "id", EnvVars: []string{taskrun.EnvName("backup-id")}, Required: true, Destination: dst, Usage: usage}
	}

	var allowInconsistent bool
	var c catalog.CommitOptions
	var archivedAt cli.Timestamp
	var listings cli.StringSlice
	var verifyID string
	var deep bool
	var p catalog.PruneOptions
	taskrun.Main(taskrun.Task{
		Name:  "catalog",
		Usage: "list, verify, commit and prune backup sets (FE archive + data listing + manifest) in the off-site bucket",
		Description: "A set is complete when its manifest.json exists; commit writes it last, once. " +
			cliflags.S3Credentials(""),
		Flags: flags,
		Commands: []taskrun.Command{
			{Name: "list", Usage: "every set, newest first, with its status, size and consistency",
				Run: func(ctx context.Context) (any, error) { return catalog.List(ctx, o) }},
			{Name: "latest", Usage: "the newest complete (and consistent) set; exit 1 when there is none",
				Flags: []cli.Flag{&cli.BoolFlag{Name: "allow-inconsistent", Destination: &allowInconsistent,
					Usage: "also choose a set whose data pass ended past the vacuum grace period"}},
				Run: func(ctx context.Context) (any, error) { return catalog.Latest(ctx, o, allowInconsistent) }},
			{Name: "commit", Usage: "check a set's FE archive and data listing, then write its manifest (last, never overwritten)",
				Flags: []cli.Flag{
					idFlag(&c.ID, "the set's id (the DAG run's, e.g. 2026-11-29T01-00-00Z)"),
					&cli.StringFlag{Name: "fe-sha256", Destination: &c.FESHA256, Usage: "the FE archive's expected SHA-256 (s3-upload's)"},
					&cli.TimestampFlag{Name: "fe-archived-at", Layout: time.RFC3339, Destination: &archivedAt, Required: true,
						Usage: "when fe-archive started (its started_at, RFC 3339): the set's point in time"},
					&cli.StringSliceFlag{Name: "data-listing", Destination: &listings, DefaultText: "<sets-prefix><id>/" + backupset.ListingName,
						Usage: "key of a data listing of the set (repeatable: one per shard)"},
					&cli.DurationFlag{Name: "vacuum-grace", Value: backupset.DefaultVacuumGrace, Destination: &c.VacuumGrace,
						Usage: "StarRocks' lake_autovacuum_grace_period_minutes: the set is consistent only when its data pass ended within it of the FE archive"},
					&cli.StringFlag{Name: "cluster-id", Destination: &c.ClusterID, Usage: "fe-archive's cluster_id, recorded"},
					&cli.Int64Flag{Name: "image-version", Value: -1, Destination: &c.ImageVersion, Usage: "fe-archive's image_version, recorded"},
				},
				Run: func(ctx context.Context) (any, error) {
					if t := archivedAt.Value(); t != nil {
						c.FEArchivedAt = *t
					}
					c.Listings, c.ToolVersion = listings.Value(), taskrun.VersionString()
					return catalog.Commit(ctx, o, c)
				}},
			{Name: "verify", Usage: "check that a set is restorable: its archive and every listed object present with its content",
				Flags: []cli.Flag{
					idFlag(&verifyID, "the set's id, or latest"),
					&cli.BoolFlag{Name: "deep", Destination: &deep, Usage: "also stream the FE archive, recompute its SHA-256 and check its members"},
				},
				Run: func(ctx context.Context) (any, error) { return catalog.Verify(ctx, o, verifyID, deep) }},
			{Name: "prune", Usage: "expire sets by a retention policy and delete the data only they needed",
				Flags: []cli.Flag{
					&cli.IntFlag{Name: "keep-last", Destination: &p.Policy.Last, Usage: "keep the N newest sets"},
					&cli.IntFlag{Name: "keep-daily", Destination: &p.Policy.Daily, Usage: "keep the newest set of each of the N newest days with sets"},
					&cli.IntFlag{Name: "keep-weekly", Destination: &p.Policy.Weekly, Usage: "keep the newest set of each of the N newest ISO weeks with sets"},
					&cli.IntFlag{Name: "keep-monthly", Destination: &p.Policy.Monthly, Usage: "keep the newest set of each of the N newest months with sets"},
					&cli.BoolFlag{Name: "dry-run", Destination: &p.DryRun, Usage: "decide and report, delete nothing"},
					&cli.IntFlag{Name: "max-delete", Value: catalog.DefaultMaxDelete, Destination: &p.MaxDelete,
						Usage: "when more data objects (versions) would be deleted, delete nothing and fail"},
				},
				Run: func(ctx context.Context) (any, error) { return catalog.Prune(ctx, o, p) }},
		},
	})
}
