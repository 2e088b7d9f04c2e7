//go:build e2e

package airflow_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// runTimeout bounds one DAG run on a loaded two-core machine: generous,
// since it only ends a broken test.
const runTimeout = 6 * time.Minute

// The DAGs under a real Airflow, as an operator runs them: API server,
// scheduler (LocalExecutor) and DAG processor on SQLite; connections and the
// configuration Variable stored in the metadata database through the CLI
// (two of the connections of type generic, as a plain install stores them);
// runs triggered, watched, cleared and stopped through the REST API.
func TestDAGsUnderTheScheduler(t *testing.T) {
	t.Parallel() // much of it waits on the scheduler: the story test runs meanwhile
	began := time.Now()
	ctx := context.Background()
	bed := testbed.NewBed(t)
	proxy := testbed.NewFaultProxy(t, bed.Offsite.Endpoint())
	bed.OffsiteURL = proxy.Endpoint()              // the off-site connection goes through it
	af := testbed.NewAirflowT(t, testbed.Airflow3) // no AIRFLOW_CONN_* variables: connections live in the database
	srv := af.ServeT(t)
	cli := func(args ...string) string {
		t.Helper()
		out, err := af.Run(ctx, args...)
		if err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		return out
	}
	for _, c := range bed.ConnectionCommands() {
		cli(c...)
	}
	// A plain install has no amazon or ssh provider: --conn-type aws and ssh
	// are stored as generic, and the binaries must take them.
	var conns []struct {
		ID   string `json:"conn_id"`
		Type string `json:"conn_type"`
	}
	if err := json.Unmarshal([]byte(lastLine(cli("connections", "list", "-o", "json"))), &conns); err != nil {
		t.Fatal(err)
	}
	stored := map[string]string{}
	for _, c := range conns {
		stored[c.ID] = c.Type
	}
	for id, want := range map[string]string{"minio": "generic", "starrocks_fe": "generic", "aws_s3": "aws"} {
		if stored[id] != want {
			t.Fatalf("connection %s stored as type %q, want %s (all: %v)", id, stored[id], want, stored)
		}
	}
	cli("variables", "set", "starrocks_backup_config", bed.Config())
	objects, _, err := testbed.SeedStarRocksTree(ctx, bed.Cluster.Client(), testbed.BedClusterBucket,
		testbed.TreeSpec{Partitions: 4, DataFiles: 4, MaxData: 64 << 10, MetaFiles: 2, LogFiles: 1, Seed: 7})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{"starrocks_backup", "backup_be"} {
		if err := srv.WaitDAG(ctx, id); err != nil {
			t.Fatalf("DAG %s never parsed: %v", id, err)
		}
	}

	// Unpausing the daily backup starts nothing now: its next run is due at
	// the next 01:00 UTC, not the last interval's at once.
	unpaused := time.Now()
	unpause(t, srv, "starrocks_backup")
	next, err := srv.NextRun(ctx, "starrocks_backup")
	if err != nil {
		t.Fatal(err)
	}
	if !next.After(unpaused) {
		t.Fatalf("after unpausing, the next run is due at %v: a run would start at once", next)
	}
	if runs, err := srv.DagRuns(ctx, "starrocks_backup"); err != nil || len(runs) != 0 {
		t.Fatalf("runs right after unpausing: %v (%v)", runs, err)
	}
	unpause(t, srv, "backup_be")

	runID := backupClearedUnderScheduler(t, srv, bed, proxy, objects)
	renderWithoutDatabaseConnections(t, af, runID)
	stopMirrorUnderScheduler(t, srv, bed)
	t.Logf("the scheduler test took %s", time.Since(began).Round(time.Second))
}

// A backup run triggered through the REST API whose data copy fails (the
// off-site endpoint refuses writes under data/, as a bucket policy would): mirror_data fails with its
// JSON result in the XCom "result" and the binary's error at error level
// in the log, and the set stays incomplete. Once the endpoint takes writes
// again, clearing the failed task runs it and what follows again, and the
// run completes the same set: nothing before the data copy runs again (the
// FE archive is not fetched again, nor uploaded). The results are XComs
// (each field its own XCom too), and the UI's rendered view shows
// connection ids and never a secret.
func backupClearedUnderScheduler(t *testing.T, srv *testbed.AirflowServer, bed *testbed.Bed, proxy *testbed.FaultProxy, objects int) string {
	ctx := context.Background()
	refuseDataWrites(proxy)
	runID, err := srv.Trigger(ctx, "starrocks_backup", map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	run, err := srv.WaitRun(ctx, "starrocks_backup", runID, runTimeout)
	tis := taskStates(t, srv, "starrocks_backup", runID)
	if err != nil || run.State != "failed" || tis["mirror_data[0]"].StateOf() != "failed" || tis["commit_set"].StateOf() != "upstream_failed" ||
		tis["upload_fe_archive"].StateOf() != "success" || tis["remove_fe_host_archive"].StateOf() != "success" {
		t.Fatalf("backup with the off-site data refused: run %s (%v), tasks %v", run.State, err, tis)
	}
	result := xcomMap(t, srv, "starrocks_backup", runID, "mirror_data[0]", "result")
	if result["status"] != "error" || result["errors"] == float64(0) {
		t.Fatalf("the failed task's XCom result: %v", result)
	}
	logs, err := srv.TaskLog(ctx, "starrocks_backup", runID, "mirror_data[0]", 1)
	if err != nil {
		t.Fatal(err)
	}
	// The binary's own last log line (message "task finished"), not only the
	// operator's summary, is an error in Airflow's log.
	if !hasLog(logs, "error", "task finished", "exit_code=1", fmt.Sprint(result["error"])) {
		t.Fatalf("the binary's error is not an error-level line of the task log:\n%s", logText(logs))
	}
	id, _ := srv.XCom(ctx, "starrocks_backup", runID, "config", "backup_id")
	set := fmt.Sprintf("backups/%v/", id)
	if ok, _ := bed.ObjectExists(ctx, set+"fe-meta.tar.gz"); !ok {
		t.Fatalf("no FE archive in the set %s", set)
	}
	if ok, _ := bed.ObjectExists(ctx, set+"manifest.json"); ok {
		t.Fatalf("the failed backup committed its set %s", set)
	}

	proxy.Clear()
	if err := srv.ClearFailed(ctx, "starrocks_backup", runID, "mirror_data"); err != nil {
		t.Fatal(err)
	}
	if err := testbed.Poll(ctx, time.Minute, func() (bool, error) {
		r, err := srv.DagRun(ctx, "starrocks_backup", runID)
		return err == nil && r.State != "failed", nil
	}); err != nil {
		t.Fatalf("the cleared run never left the failed state: %v", err)
	}
	run, err = srv.WaitRun(ctx, "starrocks_backup", runID, runTimeout)
	tis = taskStates(t, srv, "starrocks_backup", runID)
	if err != nil || run.State != "success" || tis["mirror_data[0]"].TryNumber != 2 || tis["commit_set"].StateOf() != "success" {
		t.Fatalf("cleared backup: run %s (%v), tasks %v", run.State, err, tis)
	}
	for _, task := range []string{"config", "fe_archive", "fe_fetch", "upload_fe_archive", "remove_local_archive", "remove_fe_host_archive"} {
		if ti := tis[task]; ti.StateOf() != "success" || ti.TryNumber != 1 {
			t.Errorf("%s: %s, try %d: clearing mirror_data ran it again", task, ti.StateOf(), ti.TryNumber)
		}
	}
	commit := xcomMap(t, srv, "starrocks_backup", runID, "commit_set", "return_value")
	mirror := xcomMap(t, srv, "starrocks_backup", runID, "mirror_data[0]", "return_value")
	if commit["id"] != id || commit["consistent"] != true || commit["data_objects"] != float64(objects) ||
		mirror["manifest_key"] != set+"data.jsonl.gz" || mirror["verified"] != true {
		t.Fatalf("after the clear: commit %v, mirror %v; want set %s complete with %d objects", commit, mirror, set, objects)
	}
	if res, code, err := bed.Catalog(ctx, testbed.BinDir(), "verify", "--id", fmt.Sprint(id)); err != nil || code != 0 || res["restorable"] != true {
		t.Fatalf("catalog verify of the set: exit %d (%v): %v", code, err, res)
	}
	// The rendered view (stored by the task at run time) shows the
	// connection ids and the values that came through XCom.
	fetch := tis["fe_fetch"].RenderedFields
	archive := xcomMap(t, srv, "starrocks_backup", runID, "fe_archive", "return_value")
	if !strings.Contains(fmt.Sprint(fetch["connections"]), "starrocks_fe") || !strings.Contains(fmt.Sprint(fetch["env"]), fmt.Sprint(archive["remote_path"])) {
		t.Fatalf("fe_fetch rendered fields %v: want the connection id and the archive's path", fetch)
	}
	if work, _ := os.ReadDir(bed.WorkDir); len(work) > 0 {
		t.Fatalf("worker folder %v", work)
	}
	noSecrets(t, srv, bed, "starrocks_backup", runID, tis)
	return runID
}

// `airflow tasks render` works where the connections are only in the
// metadata database (which the CLI does not read connections from) and
// prints no secret: connections are read at run time, XCom inputs show as
// references.
func renderWithoutDatabaseConnections(t *testing.T, af *testbed.Airflow, runID string) {
	for _, task := range []string{"fe_fetch", "upload_fe_archive", "commit_set"} {
		out, err := af.Run(context.Background(), "tasks", "render", "starrocks_backup", task, runID)
		if err != nil || !strings.Contains(out, "<XCom config.") || !strings.Contains(out, "property: connections") {
			t.Fatalf("airflow tasks render starrocks_backup %s: %v\n%s", task, err, out)
		}
	}
}

// A run marked failed while mirror copies: Airflow stops the task, the
// binary gets SIGTERM, exits 130, and leaves nothing behind: no multipart
// upload at the target, no partial object, no temp files.
func stopMirrorUnderScheduler(t *testing.T, srv *testbed.AirflowServer, bed *testbed.Bed) {
	ctx := context.Background()
	// One new 70 MiB segment: mirror copies it as a multipart upload, whose
	// part uploads the proxy holds until the request is cancelled.
	if _, _, err := testbed.SeedStarRocksTree(ctx, bed.Cluster.Client(), testbed.BedClusterBucket,
		testbed.TreeSpec{Segments: []int64{70 << 20}, Seed: 9}); err != nil {
		t.Fatal(err)
	}
	proxy := testbed.NewFaultProxy(t, bed.Offsite.Endpoint())
	uploading := make(chan struct{}, 16)
	release := make(chan struct{})
	defer close(release)
	proxy.Add(&testbed.Fault{Match: isPartUpload, Before: func(r *http.Request) {
		uploading <- struct{}{}
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}})
	slow, _ := json.Marshal(map[string]any{"conn_type": "aws", "login": bed.Offsite.AccessKey, "password": bed.Offsite.SecretKey,
		"extra": map[string]any{"endpoint_url": proxy.Endpoint()}})
	if out, err := srv.Run(ctx, "connections", "add", "aws_s3_slow", "--conn-json", string(slow)); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// backup_be (a seed guide's id) runs the whole backup: FE archive, then data.
	runID, err := srv.Trigger(ctx, "backup_be", map[string]any{"s3_conn_id": "aws_s3_slow"})
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-uploading:
	case <-time.After(runTimeout):
		t.Fatalf("mirror never started its multipart upload: %v", taskStates(t, srv, "backup_be", runID))
	}
	if n := incompleteUploads(t, bed); n == 0 {
		t.Fatal("no multipart upload in progress while mirror copies: the check below would prove nothing")
	}
	if err := srv.SetRunState(ctx, "backup_be", runID, "failed"); err != nil {
		t.Fatal(err)
	}
	// The task's log ends with the binary's exit code once it has stopped.
	var logs []map[string]any
	err = testbed.Poll(ctx, 3*time.Minute, func() (bool, error) {
		logs, err = srv.TaskLog(ctx, "backup_be", runID, "mirror_data[0]", 1)
		return err == nil && hasLog(logs, "error", "mirror failed (exit code "), nil
	})
	if err != nil || !hasLog(logs, "error", "mirror failed (exit code 130, cancelled") || !hasLog(logs, "error", "task finished", "exit_code=130") {
		t.Fatalf("mirror did not exit 130 after the run was marked failed (%v):\n%s", err, logText(logs))
	}
	if n := incompleteUploads(t, bed); n != 0 {
		t.Fatalf("%d multipart uploads left at the target", n)
	}
	var partial []string
	for o := range bed.Offsite.Client().ListObjects(ctx, testbed.BedBackupBucket, minio.ListObjectsOptions{Prefix: "data/", Recursive: true}) {
		if o.Size >= 70<<20 {
			partial = append(partial, o.Key)
		}
	}
	if len(partial) > 0 {
		t.Fatalf("the interrupted copy left %v at the target", partial)
	}
	tmp, _ := filepath.Glob(filepath.Join(srv.Home, "tmp", "srb-*"))
	work, _ := os.ReadDir(bed.WorkDir)
	if len(tmp) > 0 || len(work) > 0 {
		t.Fatalf("temp files left: %v, worker folder %v", tmp, work)
	}
}

func unpause(t *testing.T, srv *testbed.AirflowServer, ids ...string) {
	t.Helper()
	for _, id := range ids {
		if err := srv.Unpause(context.Background(), id); err != nil {
			t.Fatal(err)
		}
	}
}

func isPartUpload(r *http.Request) bool {
	return r.Method == http.MethodPut && r.URL.Query().Has("partNumber") && r.URL.Query().Has("uploadId")
}

func incompleteUploads(t *testing.T, bed *testbed.Bed) int {
	t.Helper()
	n := 0
	for u := range bed.Offsite.Client().ListIncompleteUploads(context.Background(), testbed.BedBackupBucket, "", true) {
		if u.Err != nil {
			t.Fatal(u.Err)
		}
		n++
	}
	return n
}

func taskStates(t *testing.T, srv *testbed.AirflowServer, dagID, runID string) map[string]testbed.TaskInstance {
	t.Helper()
	tis, err := srv.TaskInstances(context.Background(), dagID, runID)
	if err != nil {
		t.Fatal(err)
	}
	return tis
}

func xcomMap(t *testing.T, srv *testbed.AirflowServer, dagID, runID, task, key string) map[string]any {
	t.Helper()
	v, err := srv.XCom(context.Background(), dagID, runID, task, key)
	m, _ := v.(map[string]any)
	if err != nil || m == nil {
		t.Fatalf("XCom %s of %s.%s: %v (%v)", key, dagID, task, v, err)
	}
	return m
}

// noSecrets checks every task's log, rendered fields and XComs of a run.
func noSecrets(t *testing.T, srv *testbed.AirflowServer, bed *testbed.Bed, dagID, runID string, tis map[string]testbed.TaskInstance) {
	t.Helper()
	ctx := context.Background()
	var all strings.Builder
	for task, ti := range tis {
		for try := 1; try <= ti.TryNumber; try++ {
			logs, err := srv.TaskLog(ctx, dagID, runID, task, try)
			if err != nil {
				t.Fatal(err)
			}
			all.WriteString(logText(logs))
		}
		b, _ := json.Marshal(ti.RenderedFields)
		all.Write(b)
		for _, key := range []string{"return_value", "result"} {
			if v, err := srv.XCom(ctx, dagID, runID, task, key); err == nil {
				b, _ := json.Marshal(v)
				all.Write(b)
			}
		}
	}
	for _, s := range bed.Secrets() {
		if strings.Contains(all.String(), s) {
			t.Fatalf("a secret appears in the logs, rendered fields or XComs of %s", dagID)
		}
	}
	if all.Len() < 1000 {
		t.Fatalf("%s: almost nothing to check for secrets (%d bytes)", dagID, all.Len())
	}
}

// hasLog reports whether a log line has the level and every one of texts.
func hasLog(logs []map[string]any, level string, texts ...string) bool {
	return slices.ContainsFunc(logs, func(l map[string]any) bool {
		event := fmt.Sprint(l["event"])
		return l["level"] == level && !slices.ContainsFunc(texts, func(s string) bool { return !strings.Contains(event, s) })
	})
}

func logText(logs []map[string]any) string {
	var b strings.Builder
	for _, l := range logs {
		fmt.Fprintf(&b, "[%v] %v\n", l["level"], l["event"])
	}
	return b.String()
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
