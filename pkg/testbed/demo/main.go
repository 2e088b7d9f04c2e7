// Command demo is `make demo`: backup sets and a point-in-time restore of a
// StarRocks-like cluster through Airflow (`airflow dags test`) on a local
// test bed: two MinIO servers (the cluster's and a versioned off-site one)
// and a loopback sshd standing in for the FE host. It backs up, lets the
// cluster change as StarRocks changes it (new segments, vacuumed ones, a
// tablet metadata file republished in place, new FE metadata), backs up
// again, lists the backup sets, restores the OLDER set over the newer
// state and checks that the bucket and the FE's meta/ and conf/ are
// byte-identical to the cluster at that backup. It prints a short summary,
// keeps the logs, and stops everything it started, also on failure or
// Ctrl-C.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func main() {
	bin := flag.String("bin", "bin", "folder of the task binaries (make build)")
	out := flag.String("out", "demo-output", "folder for the demo's logs")
	flag.Parse()
	os.Exit(run(*bin, *out))
}

func run(bin, out string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	binDir, err := filepath.Abs(bin)
	if err != nil {
		return fail(err)
	}
	if _, err := os.Stat(filepath.Join(binDir, "mirror")); err != nil {
		return fail(fmt.Errorf("no binaries in %s: run make build first", binDir))
	}
	logDir, err := filepath.Abs(filepath.Join(out, time.Now().UTC().Format("20060102T150405Z")))
	if err != nil {
		return fail(err)
	}
	if err := os.MkdirAll(logDir, 0o755); err != nil {
		return fail(err)
	}
	say := func(format string, args ...any) { fmt.Printf("  · "+format+"\n", args...) }

	fmt.Println("StarRocks backup & restore demo")
	say("starting the test bed: two MinIO servers and an sshd with a sample FE folder")
	bed, err := testbed.StartBed(ctx, filepath.Join(logDir, "bed"))
	if err != nil {
		return fail(err)
	}
	defer func() {
		bed.Stop()
		// Keep the logs, drop the servers' data.
		for _, d := range []string{"minio-cluster", "minio-offsite"} {
			os.RemoveAll(filepath.Join(bed.Dir, d, "data"))
		}
		fmt.Printf("\nlogs: %s (airflow-*.log: the DAG runs; bed/: MinIO and sshd)\n", logDir)
	}()
	af, err := testbed.NewAirflow(filepath.Join(logDir, "airflow-home"), testbed.Airflow3, binDir, bed.AirflowEnv()...)
	if err != nil {
		return fail(err)
	}
	say("cluster MinIO %s, off-site MinIO %s, FE host %s:%d (%s)", bed.Cluster.Endpoint(), bed.Offsite.Endpoint(), bed.SSHD.Host, bed.SSHD.Port, bed.FE.Dir)

	seed := uint64(time.Now().UnixNano())
	s := &testbed.Story{Bed: bed, Airflow: af, Logf: say, OutputTo: func(stage, output string) {
		_ = os.WriteFile(filepath.Join(logDir, "airflow-"+stage+".log"), []byte(output), 0o644)
	}}
	err = story(ctx, s, testbed.TreeSpec{Partitions: 24, DataFiles: 10, MaxData: 256 << 10, MetaFiles: 4, LogFiles: 3, Schema: true, Seed: seed}, binDir)
	if ctx.Err() != nil {
		fmt.Println("\ninterrupted: stopping everything")
		return 130
	}
	if err != nil {
		fmt.Printf("\nFAILED: %s\n", strings.TrimSpace(err.Error()))
		return 1
	}
	return 0
}

// story backs up twice with a change of the cluster between, lists the
// sets and restores the older one, checking every step.
func story(ctx context.Context, s *testbed.Story, tree testbed.TreeSpec, binDir string) error {
	objects, bytes, err := testbed.SeedStarRocksTree(ctx, s.Bed.Cluster.Client(), testbed.BedClusterBucket, tree)
	if err != nil {
		return err
	}
	s.Logf("seeded s3://%s with a StarRocks-like tree: %d objects, %s", testbed.BedClusterBucket, objects, size(float64(bytes)))
	at1, err := s.State(ctx)
	if err != nil {
		return err
	}
	first, err := backup(ctx, s, "backup-1")
	if err != nil {
		return err
	}
	if _, err := s.Change(ctx); err != nil {
		return err
	}
	if _, err := backup(ctx, s, "backup-2"); err != nil {
		return err
	}
	list, code, err := s.Bed.Catalog(ctx, binDir, "list")
	if err != nil || code != 0 {
		return fmt.Errorf("catalog list: exit %d: %v %v", code, err, list["error"])
	}
	printSets(list)

	conf := map[string]any{"confirm": true, "backup_id": first}
	run, took, err := s.Run(ctx, "restore-older-set", "starrocks_restore", conf)
	if err != nil {
		return err
	}
	if run.State != "success" {
		return fmt.Errorf("restore run %s: %v", run.State, run.States())
	}
	dry, sum := run.Result("restore_dry_run"), run.Result("restore_summary")
	fmt.Printf("\nrestore (starrocks_restore, backup_id=%s, confirm=true): %s in %.1f s\n", first, run.State, took.Seconds())
	fmt.Printf("  dry run      would copy %v objects back and delete %v newer ones\n", dry["copied"], dry["deleted"])
	fmt.Printf("  data         %v objects (%s) copied back, %v deleted: s3://%s holds exactly the set\n",
		sum["copied"], size(sum["bytes"]), sum["deleted"], testbed.BedClusterBucket)
	fmt.Printf("  FE metadata  %v (sha256 verified: %v) extracted into %v\n",
		run.Result("download_fe_archive")["key"], run.Result("download_fe_archive")["verified"], run.Result("extract_fe_archive")["fe_dir"])
	now, err := s.State(ctx)
	if err != nil {
		return err
	}
	if d := at1.Diff(now); d != "" {
		return fmt.Errorf("the restored cluster differs from the cluster at backup %s: %s", first, d)
	}
	fmt.Printf("\nrestore verified: the bucket and the FE's meta/ and conf/ are byte-identical to the cluster at backup %s\n", first)
	return nil
}

// backup runs starrocks_backup, prints what it did and returns the set's id.
func backup(ctx context.Context, s *testbed.Story, stage string) (string, error) {
	run, took, err := s.Run(ctx, stage, "starrocks_backup", nil)
	if err != nil {
		return "", err
	}
	if run.State != "success" {
		return "", fmt.Errorf("%s run %s: %v", stage, run.State, run.States())
	}
	archive, upload, summary, commit := run.Result("fe_archive"), run.Result("upload_fe_archive"), run.Result("data_summary"), run.Result("commit_set")
	fmt.Printf("\n%s (starrocks_backup): backup set %v in %.1f s\n", stage, commit["id"], took.Seconds())
	fmt.Printf("  FE metadata  s3://%s/%s  %s  sha256 %s…  (image %v, cluster %v, %v files)\n",
		upload["bucket"], upload["key"], size(upload["size"]), short(upload["sha256"]), archive["image_version"], archive["cluster_id"], archive["files"])
	fmt.Printf("  data         %v objects listed, %v copied (%s), %v already off-site; verified: %v\n",
		summary["listed"], summary["copied"], size(summary["bytes"]), summary["skipped"], summary["verified"])
	fmt.Printf("  committed    %v (consistent: %v, %v after the FE archive)\n", commit["manifest_key"], commit["consistent"], commit["gap"])
	id, _ := commit["id"].(string)
	return id, nil
}

func printSets(list map[string]any) {
	fmt.Printf("\ncatalog list (s3://%v/%v):\n", list["bucket"], list["sets_prefix"])
	fmt.Printf("  %-22s %-10s %-10s %8s %10s\n", "id", "status", "consistent", "objects", "data")
	sets, _ := list["sets"].([]any)
	for _, x := range sets {
		m, _ := x.(map[string]any)
		fmt.Printf("  %-22v %-10v %-10v %8v %10s\n", m["id"], m["status"], m["consistent"], m["data_objects"], size(m["data_bytes"]))
	}
}

func size(v any) string {
	f, _ := v.(float64)
	switch {
	case f >= 1<<20:
		return fmt.Sprintf("%.1f MiB", f/(1<<20))
	case f >= 1<<10:
		return fmt.Sprintf("%.1f KiB", f/(1<<10))
	}
	return fmt.Sprintf("%.0f B", f)
}

func short(v any) string {
	s, _ := v.(string)
	if len(s) > 12 {
		return s[:12]
	}
	return s
}

func fail(err error) int {
	fmt.Fprintln(os.Stderr, "demo failed:", strings.TrimSpace(err.Error()))
	return 1
}
