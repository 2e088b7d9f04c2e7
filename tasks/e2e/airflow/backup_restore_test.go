//go:build e2e

package airflow_test

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func tail(s string) string {
	if len(s) > 6000 {
		return "…" + s[len(s)-6000:]
	}
	return s
}

func str(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// The README's promise, run for real: `airflow dags test starrocks_backup`
// copies the FE metadata and the bucket off-site; after the bucket and the
// FE's meta/ are lost, an unconfirmed restore refuses and changes nothing,
// and `airflow dags test starrocks_restore` with confirm=true brings back
// identical bytes.
func TestBackupThenRestoreThroughAirflow(t *testing.T) {
	ctx := context.Background()
	bed := testbed.NewBed(t)
	af := testbed.NewAirflowT(t, testbed.Airflow3, bed.AirflowEnv()...)
	outputs := map[string]string{}
	var afterBackup struct {
		remoteArchive string
		worker        []os.DirEntry
	}
	sc := testbed.Scenario{
		Tree:           testbed.TreeSpec{Partitions: 8, DataFiles: 6, MaxData: 256 << 10, MetaFiles: 3, LogFiles: 2, Seed: 1},
		TryUnconfirmed: true,
		Logf:           t.Logf,
		OutputTo:       func(stage, out string) { outputs[stage] = out },
		BeforeDisaster: func(o *testbed.Outcome) {
			afterBackup.remoteArchive = str(o.Backup.Result("fe_archive"), "remote_path")
			afterBackup.worker, _ = os.ReadDir(bed.WorkDir)
		},
	}
	o, err := sc.Run(ctx, bed, af)
	if err != nil {
		t.Fatalf("%v\n%s", err, tail(outputs["backup"]+outputs["restore"]))
	}

	// Backup: every task ran, the archive's digest travelled intact from the
	// FE host to S3, the data copy is complete, nothing is left behind.
	if o.Backup.State != "success" {
		t.Fatalf("backup run %s: %v\n%s", o.Backup.State, o.Backup.Tasks, tail(outputs["backup"]))
	}
	for _, task := range []string{"fe_archive", "fe_fetch", "upload_fe_archive", "mirror_data", "remove_local_archive"} {
		if o.Backup.Tasks[task].State != "success" {
			t.Fatalf("backup task %s: %q", task, o.Backup.Tasks[task].State)
		}
	}
	archive, fetch, upload, mirror := o.Backup.Result("fe_archive"), o.Backup.Result("fe_fetch"), o.Backup.Result("upload_fe_archive"), o.Backup.Result("mirror_data")
	if str(archive, "sha256") == "" || str(fetch, "sha256") != str(archive, "sha256") || str(upload, "sha256") != str(archive, "sha256") {
		t.Fatalf("the archive's digest did not travel intact: archive %v, fetch %v, upload %v", archive, fetch, upload)
	}
	if archive["cluster_id"] != testbed.FixtureClusterID {
		t.Errorf("fe_archive cluster_id %v", archive["cluster_id"])
	}
	if !regexp.MustCompile(`^fe/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ/fe-meta\.tar\.gz$`).MatchString(str(upload, "key")) {
		t.Errorf("FE archive key %q is not a new key per run", str(upload, "key"))
	}
	if mirror["copied"] != float64(o.Objects) || mirror["errors"] != float64(0) || mirror["bytes"] != float64(o.Bytes) {
		t.Errorf("mirror copied %v objects (%v bytes, %v errors), want %d (%d bytes)", mirror["copied"], mirror["bytes"], mirror["errors"], o.Objects, o.Bytes)
	}
	if o.OffsiteDiff != "" {
		t.Fatalf("off-site data differs from the cluster's bucket: %s", o.OffsiteDiff)
	}
	obj, err := bed.Offsite.Client().StatObject(ctx, testbed.BedBackupBucket, str(upload, "key"), minio.StatObjectOptions{})
	if err != nil || obj.UserMetadata["Sha256"] != str(archive, "sha256") {
		t.Fatalf("FE archive object: %v %v", obj.UserMetadata, err)
	}
	if _, err := os.Stat(afterBackup.remoteArchive); afterBackup.remoteArchive == "" || !os.IsNotExist(err) {
		t.Errorf("the archive was left on the FE host at %q (%v)", afterBackup.remoteArchive, err)
	}
	if len(afterBackup.worker) != 0 {
		t.Errorf("the worker folder still holds %v after the backup", afterBackup.worker)
	}

	// The unconfirmed restore refused before touching anything.
	if o.Unconfirmed.State != "failed" || o.Unconfirmed.Tasks["config"].State != "failed" || o.Unconfirmed.Tasks["restore_data"].State == "success" {
		t.Fatalf("unconfirmed restore: run %s, tasks %v", o.Unconfirmed.State, o.Unconfirmed.Tasks)
	}
	if o.UnconfirmedWrote != 0 {
		t.Fatalf("an unconfirmed restore wrote %d objects", o.UnconfirmedWrote)
	}

	// The confirmed restore brought back identical bytes.
	if o.Restore.State != "success" {
		t.Fatalf("restore run %s: %v\n%s", o.Restore.State, o.Restore.Tasks, tail(outputs["restore"]))
	}
	download := o.Restore.Result("download_fe_archive")
	if download["verified"] != true || str(download, "key") != str(upload, "key") || str(download, "sha256") != str(archive, "sha256") {
		t.Fatalf("restore downloaded %v, want the verified archive %s", download, str(upload, "key"))
	}
	if ok, why := o.OK(); !ok {
		t.Fatal(why)
	}
	kept, _ := filepath.Glob(filepath.Join(bed.FE.Dir, "conf.before-restore-*", "fe.conf"))
	if len(kept) != 1 {
		t.Fatalf("the replaced conf/ was not kept beside it: %v", kept)
	}
	if b, _ := os.ReadFile(kept[0]); string(b) != "broken = true\n" {
		t.Fatalf("kept conf holds %q", b)
	}
	if left, _ := os.ReadDir(bed.WorkDir); len(left) != 0 {
		t.Errorf("the worker folder still holds %v after the restore", left)
	}
	for stage, out := range outputs {
		for _, s := range bed.Secrets() {
			if strings.Contains(out, s) {
				t.Fatalf("a secret appears in the Airflow output of the %s", stage)
			}
		}
	}
}
