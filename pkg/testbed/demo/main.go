// Command demo is `make demo`: a full backup and restore of a StarRocks-like
// cluster through Airflow (`airflow dags test`) on a local test bed: two
// MinIO servers (the cluster's and the off-site one) and a loopback sshd
// standing in for the FE host. It prints a short summary, keeps the logs,
// and stops everything it started, also on failure or Ctrl-C.
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

	sc := testbed.Scenario{
		Tree: testbed.TreeSpec{Partitions: 24, DataFiles: 10, MaxData: 256 << 10, MetaFiles: 4, LogFiles: 3, Seed: uint64(time.Now().UnixNano())},
		Logf: say,
		OutputTo: func(stage, output string) {
			_ = os.WriteFile(filepath.Join(logDir, "airflow-"+stage+".log"), []byte(output), 0o644)
		},
	}
	o, err := sc.Run(ctx, bed, af)
	if ctx.Err() != nil {
		fmt.Println("\ninterrupted: stopping everything")
		return 130
	}
	if err != nil {
		return fail(err)
	}
	summary(o)
	if ok, why := o.OK(); !ok {
		fmt.Printf("\nFAILED: %s\n", why)
		return 1
	}
	fmt.Println("\nrestore verified: the bucket and the FE's meta/ and conf/ are byte-identical to before the backup")
	return 0
}

func summary(o *testbed.Outcome) {
	archive, upload, mirror := o.Backup.Result("fe_archive"), o.Backup.Result("upload_fe_archive"), o.Backup.Result("mirror_data")
	fmt.Printf("\nbackup  (starrocks_backup): %s in %.1f s\n", o.Backup.State, o.BackupTime.Seconds())
	if upload != nil {
		fmt.Printf("  FE metadata  s3://%s/%s  %s  sha256 %s…  (image %v, cluster %v, %v files)\n",
			upload["bucket"], upload["key"], size(upload["size"]), short(upload["sha256"]), archive["image_version"], archive["cluster_id"], archive["files"])
	}
	if mirror != nil {
		fmt.Printf("  data         %v objects, %s  %v → %v  (verified: %v)\n",
			mirror["copied"], size(mirror["bytes"]), mirror["source"], mirror["target"], mirror["verified"])
	}
	if o.Restore.RunID == "" {
		return
	}
	download, extract, restore := o.Restore.Result("download_fe_archive"), o.Restore.Result("extract_fe_archive"), o.Restore.Result("restore_data")
	fmt.Printf("restore (starrocks_restore, confirm=true): %s in %.1f s\n", o.Restore.State, o.RestoreTime.Seconds())
	if restore != nil {
		fmt.Printf("  data         %v objects, %s copied back to %v\n", restore["copied"], size(restore["bytes"]), restore["target"])
	}
	if download != nil {
		fmt.Printf("  FE metadata  %v (sha256 verified: %v) extracted into %v\n", download["key"], download["verified"], extract["fe_dir"])
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
