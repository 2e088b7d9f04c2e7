//go:build e2e

package airflow_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// The Kubernetes DAGs beyond loading: dag.test() runs them for real, except
// that each pod, built by KubernetesPodOperator's own code, runs as a local
// process with only the pod's environment (keys from a fake Kubernetes
// Secret) and /airflow/xcom mounted for it alone. The binaries'
// return.json is the XCom, from which the next pod's values are rendered.
// The backup (two shards: a plan pod, then one pod per shard) commits a
// complete set; after the cluster's bucket and the FE's meta/ are lost,
// the restore twin brings back identical bytes. The
// configuration comes from the Variable, given as
// AIRFLOW_VAR_STARROCKS_BACKUP_CONFIG (a form Kubernetes deployments use).
func TestKubernetesDAGPods(t *testing.T) {
	ctx := context.Background()
	bed := testbed.NewBed(t)
	af := testbed.NewAirflowT(t, testbed.Airflow3, "AIRFLOW_VAR_STARROCKS_BACKUP_CONFIG="+bed.PodConfig())
	objects, size, err := testbed.SeedStarRocksTree(ctx, bed.Cluster.Client(), testbed.BedClusterBucket,
		testbed.TreeSpec{Partitions: 4, DataFiles: 4, MaxData: 64 << 10, MetaFiles: 2, LogFiles: 1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	story := &testbed.Story{Bed: bed, Airflow: af}
	before, err := story.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := bed.PodSecret()
	if err != nil {
		t.Fatal(err)
	}
	run, err := af.RunPodDAG(ctx, "starrocks_backup_k8s", map[string]any{"shards": 2}, secret)
	if err != nil {
		t.Fatal(err)
	}
	if run.State != "success" {
		t.Fatalf("run %s: %+v", run.State, run.States())
	}

	// Each pod: the image's binaries, an xcom volume with the operator's
	// sidecar, every key from the Secret and none in its plain variables.
	ssh := []string{"SRB_SSH_HOST_KEY", "SRB_SSH_PRIVATE_KEY"}
	s3 := []string{"SRB_S3_ACCESS_KEY", "SRB_S3_SECRET_KEY"}
	sides := []string{"SRB_SOURCE_ACCESS_KEY", "SRB_SOURCE_SECRET_KEY", "SRB_TARGET_ACCESS_KEY", "SRB_TARGET_SECRET_KEY"}
	checkPods(t, bed, secret, run, map[string][]string{
		"fe_archive": ssh, "fe_fetch_upload": slices.Concat(s3, ssh), "remove_fe_host_archive": ssh,
		"plan_shards": sides, "mirror_data[0]": sides, "mirror_data[1]": sides, "commit_set": s3,
	})

	// The next pod's values came from the collected return.json.
	archive, upload, summary, commit := run.Result("fe_archive"), run.Result("fe_fetch_upload"), run.Result("data_summary"), run.Result("commit_set")
	fetchEnv := run.Pods["fe_fetch_upload"].Env
	if archive["sha256"] == nil || fetchEnv["SRB_REMOTE_PATH"] != archive["remote_path"] || fetchEnv["SRB_SHA256"] != archive["sha256"] {
		t.Fatalf("fe_fetch_upload's pod got %v, the archive pod returned %v", fetchEnv, archive)
	}
	if fetchEnv["SRB_SSH_PORT"] != strings.TrimPrefix(bed.SSHD.Addr(), bed.SSHD.Host+":") {
		t.Errorf("SRB_SSH_PORT %q", fetchEnv["SRB_SSH_PORT"])
	}
	id := str(run.Result("config"), "backup_id")
	key := str(upload, "key")
	if upload["task"] != "s3-upload" || upload["sha256"] != archive["sha256"] || key != "backups/"+id+"/fe-meta.tar.gz" {
		t.Fatalf("fe_fetch_upload returned %v", upload)
	}
	listings := "backups/" + id + "/data-0.jsonl.gz,backups/" + id + "/data-1.jsonl.gz"
	if summary["copied"] != float64(objects) || summary["bytes"] != float64(size) || summary["verified"] != true || summary["data_listings"] != listings {
		t.Fatalf("the shards copied %v, want %d objects (%d bytes) verified, with a listing each", summary, objects, size)
	}
	for i, task := range run.Mapped("mirror_data") {
		if env := run.Pods[task].Env; env["SRB_KEY_RANGE"] == "" || env["SRB_MANIFEST"] != fmt.Sprintf("backups/%s/data-%d.jsonl.gz", id, i) {
			t.Errorf("%s's pod: %v, want its range and its listing", task, env)
		}
	}
	if commit["id"] != id || commit["consistent"] != true || commit["data_objects"] != float64(objects) {
		t.Fatalf("commit_set returned %v", commit)
	}

	// Off-site: the archive with its digest, and the data identical.
	obj, err := bed.Offsite.Client().StatObject(ctx, testbed.BedBackupBucket, key, minio.StatObjectOptions{})
	if err != nil || obj.UserMetadata["Sha256"] != archive["sha256"] {
		t.Fatalf("FE archive off-site: %v %v", obj.UserMetadata, err)
	}
	dst, err := testbed.BucketDigest(ctx, bed.Offsite.Client(), testbed.BedBackupBucket, "data/")
	if err != nil {
		t.Fatal(err)
	}
	if d := testbed.DiffDigests(before.Bucket, dst); d != "" {
		t.Fatalf("off-site data differs: %s", d)
	}
	if p, _ := archive["remote_path"].(string); p == "" || fileExists(p) || run.Result("remove_fe_host_archive")["removed_remote"] != true {
		t.Errorf("the archive was left on the FE host at %q", p)
	}

	// The restore twin, after the bucket and the FE's meta/ were lost.
	if err := testbed.EmptyBucket(ctx, bed.Cluster.Client(), testbed.BedClusterBucket); err != nil {
		t.Fatal(err)
	}
	if err := os.RemoveAll(filepath.Join(bed.FE.Dir, "meta")); err != nil {
		t.Fatal(err)
	}
	restore, err := af.RunPodDAG(ctx, "starrocks_restore_k8s", map[string]any{"confirm": true}, secret)
	if err != nil {
		t.Fatal(err)
	}
	if restore.State != "success" {
		t.Fatalf("restore run %s: %+v", restore.State, restore.States())
	}
	checkPods(t, bed, secret, restore, map[string][]string{
		"verify_set": s3, "restore_dry_run": sides, "restore_data[0]": sides, "download_extract_fe_archive": slices.Concat(s3, ssh),
	})
	if v := restore.Result("verify_set"); v["id"] != id || restore.Pods["restore_data[0]"].Env["SRB_FROM_MANIFEST"] != "backups/"+id+"/manifest.json" {
		t.Fatalf("restored %v from %v, want set %s", v, restore.Pods["restore_data[0]"].Env, id)
	}
	after, err := story.State(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if d := before.Diff(after); d != "" {
		t.Fatalf("the restore differs: %s", d)
	}
	if fileExists("/airflow/xcom") {
		t.Error("/airflow/xcom exists outside the pods")
	}
}

// checkPods checks that each pod named ran the image's binaries with the
// xcom volume and the operator's sidecar, took exactly the variables
// listed from the Secret, and holds no secret in its plain variables.
func checkPods(t *testing.T, bed *testbed.Bed, secret map[string]string, run testbed.PodRun, want map[string][]string) {
	t.Helper()
	for task, vars := range want {
		pod, ok := run.Pods[task]
		if !ok || !pod.XComMount || !pod.Sidecar {
			t.Fatalf("%s: pod %+v (want /airflow/xcom mounted and the xcom sidecar)", task, pod)
		}
		if got := keys(pod.Secrets); !slices.Equal(got, slices.Sorted(slices.Values(vars))) {
			t.Errorf("%s: variables from the Secret %v, want %v", task, got, vars)
		}
		for name, v := range pod.Env {
			for _, s := range append(bed.Secrets(), secret["fe-ssh-private-key"]) {
				if strings.Contains(v, s) {
					t.Errorf("%s: plain variable %s holds a secret", task, name)
				}
			}
		}
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
