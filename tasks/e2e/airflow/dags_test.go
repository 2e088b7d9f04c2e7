//go:build e2e

package airflow_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

var (
	seedDAGs    = []string{"backup_be", "restore_be", "backup_starrocks_fe", "restore_starrocks_fe"}
	projectDAGs = []string{"starrocks_backup", "starrocks_restore"}
	k8sDAG      = "starrocks_backup_k8s"
	dagFiles    = []string{"starrocks_backup.py", "starrocks_backup_k8s.py", "starrocks_restore.py", "starrocks_seed_dags.py"}
)

func loadDAGs(t *testing.T, venv, version string) testbed.DagsInfo {
	t.Helper()
	a := testbed.NewAirflowT(t, venv)
	info, err := a.CheckDags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.Airflow, version) {
		t.Fatalf("venv %s runs Airflow %s, want %s", venv, info.Airflow, version)
	}
	if len(info.ImportErrors) > 0 {
		t.Fatalf("Airflow %s: import errors: %v", info.Airflow, info.ImportErrors)
	}
	// The helper modules (srb_*.py) are listed in .airflowignore: the DAG
	// processor never parses them as DAG files.
	if !slices.Equal(info.Files, dagFiles) {
		t.Errorf("Airflow %s parsed %v, want only the DAG files %v", info.Airflow, info.Files, dagFiles)
	}
	return info
}

// checkDAG holds for every DAG on every supported Airflow: the first task
// checks the configuration, every other task depends on it, backups run
// daily at a fixed time without catching up, restores only on demand, and
// no value reaches a binary through its command line.
func checkDAG(t *testing.T, info testbed.DagsInfo, id string, airflow2 bool) testbed.DagInfo {
	t.Helper()
	d, ok := info.Dags[id]
	if !ok {
		t.Fatalf("Airflow %s: DAG %s missing; have %v", info.Airflow, id, keys(info.Dags))
	}
	if d.Catchup {
		t.Errorf("%s: catchup", id)
	}
	restore := strings.Contains(id, "restore")
	switch {
	case restore && d.Timetable.Class != "NullTimetable":
		t.Errorf("%s: a restore DAG must never be scheduled, has %s", id, d.Timetable.Class)
	case restore && !slices.Contains(d.Params, "confirm"):
		t.Errorf("%s: no confirm param", id)
	case !restore && (d.Timetable.Class != "CronTriggerTimetable" || d.Timetable.Expression != "0 1 * * *"):
		t.Errorf("%s: backups run daily at 01:00, timetable %+v", id, d.Timetable)
	}
	// Unpausing must not start the last interval's run at once: on Airflow 3
	// no start_date and a timetable that waits for the next cron time. (A
	// start_date would make the scheduler run the latest past slot.)
	if !airflow2 && (d.StartDate != nil || (!restore && d.Timetable.RunImmediately != false)) {
		t.Errorf("%s: start_date %v, run_immediately %v: unpausing would start a run at once", id, d.StartDate, d.Timetable.RunImmediately)
	}
	cfg, ok := d.Tasks["config"]
	if !ok || cfg.Operator != "SrbConfigOperator" || len(cfg.Upstream) != 0 {
		t.Fatalf("%s: the first task must be config (SrbConfigOperator), got %+v", id, cfg)
	}
	for tid, task := range d.Tasks {
		if tid != "config" && !slices.Contains(task.Upstream, "config") {
			t.Errorf("%s.%s does not take its values from config (upstream %v)", id, tid, task.Upstream)
		}
		if task.Command != nil {
			t.Errorf("%s.%s: runs a shell command %q (values must reach binaries through env)", id, tid, *task.Command)
		}
		for e := range task.Env {
			if strings.Contains(e, "SECRET") || strings.Contains(e, "PASSWORD") || strings.Contains(e, "PRIVATE_KEY") || strings.HasSuffix(e, "_CONN") {
				t.Errorf("%s.%s: %s set in the DAG (secrets come from connections read at run time, or a Kubernetes Secret)", id, tid, e)
			}
		}
		for v, ref := range task.Connections {
			if s, _ := ref.(string); !strings.HasPrefix(s, "config.") || !strings.HasSuffix(s, "_conn_id") {
				t.Errorf("%s.%s: %s from %v, want a connection id from config", id, tid, v, ref)
			}
		}
	}
	return d
}

func TestDAGsLoadOnAirflow3(t *testing.T) {
	info := loadDAGs(t, testbed.Airflow3, "3.3.")
	names, err := testbed.TaskNames()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, id := range append(append([]string{k8sDAG}, seedDAGs...), projectDAGs...) {
		for tid, task := range checkDAG(t, info, id, false).Tasks {
			for _, b := range task.Binaries {
				if !slices.Contains(names, b) {
					t.Errorf("%s.%s runs %q, which is not a binary under tasks/ %v", id, tid, b, names)
				}
				used[b] = true
			}
		}
	}
	for _, b := range names {
		if !used[b] {
			t.Errorf("binary %s is used by no DAG", b)
		}
	}

	// Results flow as XCom references, which also make the dependencies:
	// the archive's path and digest into the fetch, the fetched file and its
	// digest into the upload; the data copy after the FE metadata.
	bk := info.Dags["starrocks_backup"].Tasks
	wantRefs(t, "starrocks_backup", bk, map[string]map[string]string{
		"fe_fetch":          {"SRB_REMOTE_PATH": "fe_archive.remote_path", "SRB_SHA256": "fe_archive.sha256", "SRB_LOCAL_PATH": "config.local_archive"},
		"upload_fe_archive": {"SRB_LOCAL_PATH": "fe_fetch.local_path", "SRB_SHA256": "fe_fetch.sha256", "SRB_S3_KEY": "config.new_archive_key"},
	})
	wantUpstream(t, "starrocks_backup", bk, map[string][]string{
		"fe_fetch":             {"config", "fe_archive"},
		"upload_fe_archive":    {"config", "fe_fetch"},
		"mirror_data":          {"config", "upload_fe_archive"},
		"remove_local_archive": {"config", "fe_fetch", "mirror_data"},
	})
	if !bk["remove_local_archive"].IsTeardown || !bk["fe_fetch"].IsSetup {
		t.Error("starrocks_backup: the clean-up must be a teardown of fe_fetch (it must not decide the run's state)")
	}
	rs := info.Dags["starrocks_restore"].Tasks
	wantRefs(t, "starrocks_restore", rs, map[string]map[string]string{
		"extract_fe_archive": {"SRB_LOCAL_PATH": "download_fe_archive.local_path", "SRB_RESET_ELECTION_GROUP": "config.reset_election_group"},
	})
	wantUpstream(t, "starrocks_restore", rs, map[string][]string{
		"download_fe_archive": {"config", "restore_data"},
		"extract_fe_archive":  {"config", "download_fe_archive"},
	})

	// The Kubernetes DAG gets its credentials from Kubernetes Secrets, and
	// each pod's values from config and the previous pod's result.
	k8s := info.Dags[k8sDAG].Tasks
	for tid, task := range k8s {
		if tid != "config" && (task.Operator != "SrbPodOperator" || len(task.Secrets) == 0) {
			t.Errorf("%s.%s: %s with secrets %v", k8sDAG, tid, task.Operator, task.Secrets)
		}
	}
	wantRefs(t, k8sDAG, k8s, map[string]map[string]string{
		"fe_fetch_upload": {"SRB_REMOTE_PATH": "fe_archive.remote_path", "SRB_SHA256": "fe_archive.sha256", "SRB_S3_KEY": "config.new_archive_key"},
	})
}

// The oldest Airflow 3 the README names loads every DAG the same way.
func TestDAGsLoadOnOldestAirflow3(t *testing.T) { loadWithoutK8s(t, testbed.Airflow3Oldest, "3.1.") }

// Existing installs on Airflow 2.11 still load the DAGs cleanly.
func TestDAGsLoadOnAirflow2(t *testing.T) { loadWithoutK8s(t, testbed.Airflow2, "2.11.") }

// loadWithoutK8s checks the DAGs in a venv without the cncf.kubernetes
// provider: no Kubernetes DAG there, and no import error either.
func loadWithoutK8s(t *testing.T, venv, version string) {
	info := loadDAGs(t, venv, version)
	for _, id := range append(append([]string{}, seedDAGs...), projectDAGs...) {
		checkDAG(t, info, id, strings.HasPrefix(version, "2."))
	}
	if _, ok := info.Dags[k8sDAG]; ok {
		t.Errorf("%s defined without the cncf.kubernetes provider", k8sDAG)
	}
}

func wantRefs(t *testing.T, dag string, tasks map[string]testbed.TaskInfo, want map[string]map[string]string) {
	t.Helper()
	for tid, env := range want {
		for k, v := range env {
			if got := tasks[tid].Env[k]; got != v {
				t.Errorf("%s.%s: %s = %v, want the XCom reference %s", dag, tid, k, got, v)
			}
		}
	}
}

func wantUpstream(t *testing.T, dag string, tasks map[string]testbed.TaskInfo, want map[string][]string) {
	t.Helper()
	for tid, up := range want {
		if got := tasks[tid].Upstream; !slices.Equal(got, up) {
			t.Errorf("%s.%s: upstream %v, want %v", dag, tid, got, up)
		}
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
