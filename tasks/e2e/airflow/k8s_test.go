//go:build e2e

package airflow_test

import (
	"context"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// The Kubernetes DAG beyond loading: dag.test() runs it for real, except
// that each pod, built by KubernetesPodOperator's own code, runs as a local
// process with only the pod's environment (keys from a fake Kubernetes
// Secret) and /airflow/xcom mounted for it alone. The binaries' return.json
// is the XCom, from which the next pod's values are rendered; the backup
// lands off-site intact. The configuration comes from the Variable, given
// as AIRFLOW_VAR_STARROCKS_BACKUP_CONFIG (a form Kubernetes deployments use).
func TestKubernetesDAGPods(t *testing.T) {
	ctx := context.Background()
	bed := testbed.NewBed(t)
	af := testbed.NewAirflowT(t, testbed.Airflow3, "AIRFLOW_VAR_STARROCKS_BACKUP_CONFIG="+bed.PodConfig())
	objects, size, err := testbed.SeedStarRocksTree(ctx, bed.Cluster.Client(), testbed.BedClusterBucket,
		testbed.TreeSpec{Partitions: 4, DataFiles: 4, MaxData: 64 << 10, MetaFiles: 2, LogFiles: 1, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := bed.PodSecret()
	if err != nil {
		t.Fatal(err)
	}
	run, err := af.RunPodDAG(ctx, k8sDAG, map[string]any{}, secret)
	if err != nil {
		t.Fatal(err)
	}
	if run.State != "success" {
		t.Fatalf("run %s: %+v", run.State, run.Tasks)
	}

	// Each pod: the image's binaries, an xcom volume with the operator's
	// sidecar, every key from the Secret and none in its plain variables.
	wantSecrets := map[string][]string{
		"fe_archive":      {"SRB_SSH_HOST_KEY", "SRB_SSH_PRIVATE_KEY"},
		"fe_fetch_upload": {"SRB_S3_ACCESS_KEY", "SRB_S3_SECRET_KEY", "SRB_SSH_HOST_KEY", "SRB_SSH_PRIVATE_KEY"},
		"mirror_data":     {"SRB_SOURCE_ACCESS_KEY", "SRB_SOURCE_SECRET_KEY", "SRB_TARGET_ACCESS_KEY", "SRB_TARGET_SECRET_KEY"},
	}
	for task, want := range wantSecrets {
		pod, ok := run.Pods[task]
		if !ok || !pod.XComMount || !pod.Sidecar {
			t.Fatalf("%s: pod %+v (want /airflow/xcom mounted and the xcom sidecar)", task, pod)
		}
		if got := keys(pod.Secrets); !slices.Equal(got, want) {
			t.Errorf("%s: variables from the Secret %v, want %v", task, got, want)
		}
		for name, v := range pod.Env {
			for _, s := range append(bed.Secrets(), secret["fe-ssh-private-key"]) {
				if strings.Contains(v, s) {
					t.Errorf("%s: plain variable %s holds a secret", task, name)
				}
			}
		}
	}

	// The next pod's values came from the collected return.json.
	archive, upload, mirror := run.Result("fe_archive"), run.Result("fe_fetch_upload"), run.Result("mirror_data")
	fetchEnv := run.Pods["fe_fetch_upload"].Env
	if archive["sha256"] == nil || fetchEnv["SRB_REMOTE_PATH"] != archive["remote_path"] || fetchEnv["SRB_SHA256"] != archive["sha256"] {
		t.Fatalf("fe_fetch_upload's pod got %v, the archive pod returned %v", fetchEnv, archive)
	}
	if fetchEnv["SRB_SSH_PORT"] != strings.TrimPrefix(bed.SSHD.Addr(), bed.SSHD.Host+":") {
		t.Errorf("SRB_SSH_PORT %q", fetchEnv["SRB_SSH_PORT"])
	}
	key, _ := upload["key"].(string)
	if upload["task"] != "s3-upload" || upload["sha256"] != archive["sha256"] || !regexp.MustCompile(`^fe/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ/fe-meta\.tar\.gz$`).MatchString(key) {
		t.Fatalf("fe_fetch_upload returned %v", upload)
	}
	if mirror["copied"] != float64(objects) || mirror["bytes"] != float64(size) || mirror["verified"] != true {
		t.Fatalf("mirror_data returned %v, want %d objects (%d bytes) verified", mirror, objects, size)
	}

	// Off-site: the archive with its digest, and the data identical.
	obj, err := bed.Offsite.Client().StatObject(ctx, testbed.BedBackupBucket, key, minio.StatObjectOptions{})
	if err != nil || obj.UserMetadata["Sha256"] != archive["sha256"] {
		t.Fatalf("FE archive off-site: %v %v", obj.UserMetadata, err)
	}
	src, err := testbed.BucketDigest(ctx, bed.Cluster.Client(), testbed.BedClusterBucket, "")
	if err != nil {
		t.Fatal(err)
	}
	dst, err := testbed.BucketDigest(ctx, bed.Offsite.Client(), testbed.BedBackupBucket, "data/")
	if err != nil {
		t.Fatal(err)
	}
	if d := testbed.DiffDigests(src, dst); d != "" {
		t.Fatalf("off-site data differs: %s", d)
	}
	if p, _ := archive["remote_path"].(string); p == "" || fileExists(p) {
		t.Errorf("the archive was left on the FE host at %q", p)
	}
	if fileExists("/airflow/xcom") {
		t.Error("/airflow/xcom exists outside the pods")
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
