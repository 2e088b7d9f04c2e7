//go:build e2e

package airflow_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

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

var setID = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\dZ$`)

// story is a testbed.Story whose failures fail the test.
type story struct {
	*testbed.Story
	t       *testing.T
	outputs map[string]string
}

func newStory(t *testing.T, bed *testbed.Bed, env ...string) *story {
	s := &story{t: t, outputs: map[string]string{}}
	s.Story = &testbed.Story{Bed: bed, Airflow: testbed.NewAirflowT(t, testbed.Airflow3, append(bed.AirflowEnv(), env...)...),
		Logf: t.Logf, OutputTo: func(stage, out string) { s.outputs[stage] = out }}
	return s
}

func (s *story) run(stage, dag string, conf map[string]any) testbed.RunInfo {
	s.t.Helper()
	run, took, err := s.Run(context.Background(), stage, dag, conf)
	if err != nil {
		s.t.Fatal(err)
	}
	s.t.Logf("%s: %s in %s", stage, run.State, took.Round(100_000_000))
	return run
}

// succeeds runs a DAG and fails the test unless every task succeeded.
func (s *story) succeeds(stage, dag string, conf map[string]any) testbed.RunInfo {
	s.t.Helper()
	run := s.run(stage, dag, conf)
	for task, ti := range run.Tasks {
		if ti.State != "success" || run.State != "success" {
			s.t.Fatalf("%s: run %s, task %s %s: %v\n%s", stage, run.State, task, ti.State, run.States(), tail(s.outputs[stage]))
		}
	}
	return run
}

// do runs a step of the story (s.State, s.Change) and fails the test on an error.
func do[T any](s *story, step func(context.Context) (T, error)) T {
	s.t.Helper()
	v, err := step(context.Background())
	if err != nil {
		s.t.Fatal(err)
	}
	return v
}

func (s *story) catalog(wantCode int, args ...string) map[string]any {
	s.t.Helper()
	res, code, err := s.Bed.Catalog(context.Background(), testbed.BinDir(), args...)
	if err != nil || code != wantCode {
		s.t.Fatalf("catalog %v: exit %d (%v), want %d: %v", args, code, err, wantCode, res)
	}
	return res
}

func (s *story) exists(key string) bool {
	s.t.Helper()
	ok, err := s.Bed.ObjectExists(context.Background(), key)
	if err != nil {
		s.t.Fatal(err)
	}
	return ok
}

// completeSet checks what a successful backup run left: one complete,
// consistent set named after the run, its FE archive the one the FE host
// produced (the digest travelled intact), one data listing per shard, the
// FE host's and the worker's copies of the archive removed. It returns the
// set's id.
func (s *story) completeSet(run testbed.RunInfo, objects, shards int) string {
	t := s.t
	t.Helper()
	cfg := run.Result("config")
	id := str(cfg, "backup_id")
	if !setID.MatchString(id) || !strings.HasPrefix(run.RunID, "manual__") {
		t.Fatalf("backup id %q of run %s", id, run.RunID)
	}
	archive, fetch, upload, commit := run.Result("fe_archive"), run.Result("fe_fetch"), run.Result("upload_fe_archive"), run.Result("commit_set")
	if str(archive, "sha256") == "" || str(fetch, "sha256") != str(archive, "sha256") || str(upload, "sha256") != str(archive, "sha256") {
		t.Fatalf("the archive's digest did not travel intact: archive %v, fetch %v, upload %v", archive, fetch, upload)
	}
	if str(upload, "key") != "backups/"+id+"/fe-meta.tar.gz" || fetch["removed_remote"] != false {
		t.Fatalf("upload %v, fetch %v: want the set's archive key, and the FE host's copy kept by the fetch", upload, fetch)
	}
	if commit["id"] != id || commit["consistent"] != true || commit["versioned"] != true || commit["already_committed"] != false ||
		commit["data_objects"] != float64(objects) || str(commit, "fe_archived_at") == "" {
		t.Fatalf("commit_set %v: want set %s committed, consistent, %d objects", commit, id, objects)
	}
	if !s.exists("backups/" + id + "/manifest.json") {
		t.Fatalf("no manifest for set %s", id)
	}
	// One mirror task per shard, each with its own listing and range.
	mapped := run.Mapped("mirror_data")
	summary := run.Result("data_summary")
	if len(mapped) != shards || summary["shards"] != float64(shards) {
		t.Fatalf("%d mirror_data tasks, summary %v; want %d shards", len(mapped), summary, shards)
	}
	var listings, ranges []string
	copied := 0.0
	for i, task := range mapped {
		m := run.Result(task)
		want := "backups/" + id + "/data.jsonl.gz"
		if shards > 1 {
			want = fmt.Sprintf("backups/%s/data-%d.jsonl.gz", id, i)
			ranges = append(ranges, str(m, "key_range"))
		}
		if str(m, "manifest_key") != want || m["verified"] != true || m["errors"] != float64(0) {
			t.Fatalf("%s: %v, want listing %s, verified", task, m, want)
		}
		listings = append(listings, want)
		copied += m["copied"].(float64)
	}
	if str(summary, "data_listings") != strings.Join(listings, ",") || summary["copied"] != copied {
		t.Fatalf("data_summary %v: want listings %v and %v copied", summary, listings, copied)
	}
	if distinct := slices.Compact(slices.Sorted(slices.Values(ranges))); len(distinct) != len(ranges) || slices.Contains(ranges, "") {
		t.Fatalf("shard ranges %q: want %d distinct ranges", ranges, shards)
	}
	// The FE host's copy is gone once the upload was verified, the worker's too.
	if p := str(archive, "remote_path"); p == "" || fileExists(p) || run.Result("remove_fe_host_archive")["removed_remote"] != true {
		t.Errorf("the archive was left on the FE host at %q", p)
	}
	if left, _ := os.ReadDir(s.Bed.WorkDir); len(left) != 0 {
		t.Errorf("the worker folder still holds %v after the backup", left)
	}
	return id
}

// The backup-set story through `airflow dags test`, on a versioned off-site
// bucket: a backup leaves a complete set; after the cluster changed
// (segments added and vacuumed, a .meta republished in place, new FE
// metadata), a backup with three shards leaves another, with three
// listings, and an off-site copy identical to the cluster; a backup whose
// data copy fails leaves an incomplete set, which the default restore
// skips for the newest complete one; a restore of the oldest set by id
// brings back exactly its bucket and FE files; the maintenance DAG
// verifies the newest set and prunes the oldest.
func TestBackupSetsThroughAirflow(t *testing.T) {
	t.Parallel() // beside the scheduler test, which mostly waits
	ctx := context.Background()
	bed := testbed.NewBed(t)
	proxy := testbed.NewFaultProxy(t, bed.Offsite.Endpoint())
	bed.OffsiteURL = proxy.Endpoint() // the DAGs reach the off-site S3 through it
	s := newStory(t, bed)
	objects, _, err := testbed.SeedStarRocksTree(ctx, bed.Cluster.Client(), testbed.BedClusterBucket,
		testbed.TreeSpec{Partitions: 8, DataFiles: 5, MaxData: 128 << 10, MetaFiles: 3, LogFiles: 2, Schema: true, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}

	state1 := do(s, s.State)
	id1 := s.completeSet(s.succeeds("backup-1", "starrocks_backup", nil), objects, 1)

	first := do(s, s.Change)
	state2 := do(s, s.State)
	id2 := s.completeSet(s.succeeds("backup-2", "starrocks_backup", map[string]any{"shards": 3}), len(state2.Bucket), 3)
	offsite, err := testbed.BucketDigest(ctx, bed.Offsite.Client(), testbed.BedBackupBucket, "data/")
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range first.Vacuumed { // the off-site copy keeps what older sets need
		delete(offsite, k)
	}
	if d := testbed.DiffDigests(state2.Bucket, offsite); d != "" {
		t.Fatalf("after the sharded backup the off-site data differs from the cluster: %s", d)
	}

	// A backup whose data copy fails (the off-site endpoint refuses writes
	// under data/, as a bucket policy would, failing at once rather than
	// after retries): the set has its FE archive but no manifest.
	do(s, s.Change)
	refuse := refuseDataWrites(proxy)
	run3 := s.run("backup-3-fails", "starrocks_backup", nil)
	proxy.Clear()
	id3 := str(run3.Result("config"), "backup_id")
	failed := run3.FailedResult("mirror_data[0]")
	if run3.State != "failed" || run3.Tasks["mirror_data[0]"].State != "failed" || failed["errors"] == float64(0) || proxy.Hits(refuse) == 0 ||
		run3.Tasks["data_summary"].State != "failed" || run3.Tasks["commit_set"].State != "upstream_failed" {
		t.Fatalf("backup with the off-site data refused: run %s, tasks %v, mirror result %v", run3.State, run3.States(), failed)
	}
	if !s.exists("backups/"+id3+"/fe-meta.tar.gz") || s.exists("backups/"+id3+"/manifest.json") {
		t.Fatalf("set %s: want its FE archive and no manifest", id3)
	}
	list := s.catalog(0, "list")
	if got := setStatuses(list); !slices.Equal(got, []string{id3 + " incomplete", id2 + " complete", id1 + " complete"}) {
		t.Fatalf("catalog list: %v", got)
	}
	if latest := s.catalog(0, "latest"); latest["id"] != id2 {
		t.Fatalf("catalog latest chose %v, want %s (the incomplete %s skipped)", latest["id"], id2, id3)
	}

	// The default restore (three shards) takes the newest complete set:
	// set 2 exactly, set 3's new objects removed, vacuumed objects and
	// the republished .meta back as they were.
	r2 := s.succeeds("restore-default", "starrocks_restore", map[string]any{"confirm": true, "shards": 3})
	if v := r2.Result("verify_set"); v["id"] != id2 || v["restorable"] != true || str(v, "manifest_key") != "backups/"+id2+"/manifest.json" {
		t.Fatalf("the default restore verified %v, want set %s", v, id2)
	}
	dry, sum := r2.Result("restore_dry_run"), r2.Result("restore_summary")
	if dry["dry_run"] != true || dry["copied"] == float64(0) || dry["deleted"] == float64(0) ||
		dry["copied"] != sum["copied"] || dry["deleted"] != sum["deleted"] || sum["shards"] != float64(3) {
		t.Fatalf("dry run %v, restore %v: want the counts announced, then done, over 3 shards", dry, sum)
	}
	if d := state2.Diff(do(s, s.State)); d != "" {
		t.Fatalf("restored set %s differs from the cluster at that backup: %s", id2, d)
	}
	if r2.Result("download_fe_archive")["key"] != "backups/"+id2+"/fe-meta.tar.gz" {
		t.Fatalf("restored FE archive %v", r2.Result("download_fe_archive"))
	}

	// The oldest set, by id, over the newer state.
	s.succeeds("restore-set-1", "starrocks_restore", map[string]any{"confirm": true, "backup_id": id1})
	if d := state1.Diff(do(s, s.State)); d != "" {
		t.Fatalf("restored set %s differs from the cluster at that backup: %s", id1, d)
	}
	if kept, _ := filepath.Glob(filepath.Join(bed.FE.Dir, "conf.before-restore-*", "fe.conf")); len(kept) != 2 {
		t.Fatalf("the replaced conf/ folders were not kept beside: %v", kept)
	}
	if left, _ := os.ReadDir(bed.WorkDir); len(left) != 0 {
		t.Errorf("the worker folder still holds %v after the restores", left)
	}

	// Maintenance: the newest set verified (deep), then set 1 expired (set
	// 3, incomplete and younger than a day, is kept). Its data is not
	// swept: it was written less than 15 minutes before the newest set.
	m := s.succeeds("maintenance", "starrocks_backup_maintenance",
		map[string]any{"keep_last": 1, "keep_daily": 0, "keep_weekly": 0, "keep_monthly": 0})
	if v := m.Result("verify_latest"); v["id"] != id2 || v["deep"] != true || v["restorable"] != true {
		t.Fatalf("verify_latest %v", v)
	}
	if p := m.Result("prune"); fmt.Sprint(p["expired"]) != fmt.Sprint([]any{id1}) || p["deleted"] == float64(0) {
		t.Fatalf("prune %v: want set %s expired", p, id1)
	}
	if got := setStatuses(s.catalog(0, "list")); !slices.Equal(got, []string{id3 + " incomplete", id2 + " complete"}) {
		t.Fatalf("catalog list after the prune: %v", got)
	}
	s.catalog(0, "verify", "--id", id2)
	for stage, out := range s.outputs {
		for _, secret := range bed.Secrets() {
			if strings.Contains(out, secret) {
				t.Fatalf("a secret appears in the Airflow output of %s", stage)
			}
		}
	}
}

// refuseDataWrites makes the off-site endpoint behind proxy refuse every
// write under data/ (AccessDenied: not retried, so the copy fails at once)
// while the FE archive and the sets' files still go through.
func refuseDataWrites(proxy *testbed.FaultProxy) *testbed.Fault {
	return proxy.Add(&testbed.Fault{Status: http.StatusForbidden, Code: "AccessDenied",
		Match: testbed.MatchAll(testbed.IsS3Put, func(r *http.Request) bool { _, k := testbed.S3BucketKey(r); return strings.HasPrefix(k, "data/") })})
}

func setStatuses(list map[string]any) []string {
	var out []string
	sets, _ := list["sets"].([]any)
	for _, x := range sets {
		m, _ := x.(map[string]any)
		out = append(out, str(m, "id")+" "+str(m, "status"))
	}
	return out
}
