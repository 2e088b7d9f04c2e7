package testbed

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Scenario is the end-to-end story the README promises, run through
// Airflow on a Bed: seed the cluster's bucket, back up (starrocks_backup),
// lose the bucket and the FE's meta/ (and break conf/), optionally try an
// unconfirmed restore, restore (starrocks_restore, confirm=true), and
// compare. The Airflow DAG test and `make demo` both run it: the test
// asserts on the Outcome, the demo prints it.
type Scenario struct {
	Tree           TreeSpec
	TryUnconfirmed bool                              // also run the restore without confirm first
	Logf           func(format string, args ...any)  // progress, may be nil
	OutputTo       func(stage string, output string) // Airflow output of each run, may be nil
	BeforeDisaster func(o *Outcome)                  // called after the backup, may be nil
}

// Outcome is what happened, with the comparisons made along the way
// ("" when equal).
type Outcome struct {
	Objects int
	Bytes   int64

	Backup     RunInfo
	BackupTime time.Duration
	// OffsiteDiff compares the off-site data/ with the cluster's bucket
	// right after the backup.
	OffsiteDiff string

	Unconfirmed RunInfo
	// UnconfirmedWrote counts the objects an unconfirmed restore left in
	// the emptied bucket (must be 0).
	UnconfirmedWrote int

	Restore     RunInfo
	RestoreTime time.Duration
	BucketDiff  string // the cluster's bucket, before the backup vs after the restore
	FEDiff      string // meta/ and conf/, before vs after
}

// FEDigest describes meta/ and conf/ of the FE folder, without the files an
// archive never holds (an in-progress checkpoint, the JE lock).
func (b *Bed) FEDigest() (map[string]string, error) {
	out := map[string]string{}
	for _, sub := range []string{"meta", "conf"} {
		d, err := TreeDigest(filepath.Join(b.FE.Dir, sub))
		if err != nil {
			return nil, err
		}
		for k, v := range d {
			out[sub+"/"+k] = v
		}
	}
	for _, x := range b.FE.Excluded {
		delete(out, x)
	}
	return out, nil
}

// Run runs the scenario. An error means the scenario could not be carried
// out (a server or Airflow failed to run); failed DAG runs and differences
// are reported in the Outcome.
func (s Scenario) Run(ctx context.Context, bed *Bed, af *Airflow) (*Outcome, error) {
	logf := s.Logf
	if logf == nil {
		logf = func(string, ...any) {}
	}
	output := s.OutputTo
	if output == nil {
		output = func(string, string) {}
	}
	o := &Outcome{}
	var err error
	cluster := bed.Cluster.Client()

	logf("seeding s3://%s on the cluster's MinIO with a StarRocks-like tree", BedClusterBucket)
	if o.Objects, o.Bytes, err = SeedStarRocksTree(ctx, cluster, BedClusterBucket, s.Tree); err != nil {
		return o, err
	}
	bucketBefore, err := BucketDigest(ctx, cluster, BedClusterBucket, "")
	if err != nil {
		return o, err
	}
	feBefore, err := bed.FEDigest()
	if err != nil {
		return o, err
	}

	logf("backup: airflow dags test starrocks_backup")
	start := time.Now()
	run, out, err := af.DagsTest(ctx, "starrocks_backup", nil)
	o.Backup, o.BackupTime = run, time.Since(start)
	output("backup", out)
	if err != nil {
		return o, err
	}
	offsite, err := BucketDigest(ctx, bed.Offsite.Client(), BedBackupBucket, "data/")
	if err != nil {
		return o, err
	}
	o.OffsiteDiff = DiffDigests(bucketBefore, offsite)
	if s.BeforeDisaster != nil {
		s.BeforeDisaster(o)
	}
	if o.Backup.State != "success" {
		return o, nil
	}

	logf("disaster: emptying s3://%s, deleting the FE's meta/, breaking conf/fe.conf", BedClusterBucket)
	if err := EmptyBucket(ctx, cluster, BedClusterBucket); err != nil {
		return o, err
	}
	if err := os.RemoveAll(filepath.Join(bed.FE.Dir, "meta")); err != nil {
		return o, err
	}
	if err := os.WriteFile(filepath.Join(bed.FE.Dir, "conf", "fe.conf"), []byte("broken = true\n"), 0o644); err != nil {
		return o, err
	}

	if s.TryUnconfirmed {
		logf("restore without confirm (must refuse)")
		run, out, err := af.DagsTest(ctx, "starrocks_restore", nil)
		o.Unconfirmed = run
		output("restore-unconfirmed", out)
		if err != nil {
			return o, err
		}
		left, err := BucketDigest(ctx, cluster, BedClusterBucket, "")
		if err != nil {
			return o, err
		}
		o.UnconfirmedWrote = len(left)
	}

	logf("restore: airflow dags test starrocks_restore (confirm=true)")
	start = time.Now()
	run, out, err = af.DagsTest(ctx, "starrocks_restore", map[string]any{"confirm": true})
	o.Restore, o.RestoreTime = run, time.Since(start)
	output("restore", out)
	if err != nil {
		return o, err
	}
	bucketAfter, err := BucketDigest(ctx, cluster, BedClusterBucket, "")
	if err != nil {
		return o, err
	}
	o.BucketDiff = DiffDigests(bucketBefore, bucketAfter)
	feAfter, err := bed.FEDigest()
	if err != nil {
		return o, err
	}
	o.FEDiff = DiffDigests(feBefore, feAfter)
	return o, nil
}

// OK reports whether the scenario succeeded end to end, and if not, why.
func (o *Outcome) OK() (bool, string) {
	switch {
	case o.Backup.State != "success":
		return false, fmt.Sprintf("backup run %s", o.Backup.State)
	case o.OffsiteDiff != "":
		return false, "off-site data differs from the cluster's: " + o.OffsiteDiff
	case o.Restore.State != "success":
		return false, fmt.Sprintf("restore run %s", o.Restore.State)
	case o.BucketDiff != "":
		return false, "restored bucket differs: " + o.BucketDiff
	case o.FEDiff != "":
		return false, "restored meta/ and conf/ differ: " + o.FEDiff
	}
	return true, ""
}
