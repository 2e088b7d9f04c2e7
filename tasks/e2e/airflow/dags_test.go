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
	projectDAGs = []string{"starrocks_backup", "starrocks_restore", "starrocks_backup_maintenance"}
	k8sDAGs     = []string{"starrocks_backup_k8s", "starrocks_restore_k8s"}
	dagFiles    = []string{"starrocks_backup.py", "starrocks_backup_k8s.py", "starrocks_backup_maintenance.py",
		"starrocks_restore.py", "starrocks_restore_k8s.py", "starrocks_seed_dags.py"}
	// The schedules: the two backups daily, the maintenance weekly, every other DAG manual.
	schedules = map[string]string{"starrocks_backup": "0 1 * * *", "starrocks_backup_k8s": "0 1 * * *", "starrocks_backup_maintenance": "0 3 * * 0"}
	// catalog's subcommands: the only words after a binary on a command line.
	catalogCommands = []string{"list", "latest", "commit", "verify", "prune"}
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
// checks the configuration, every other task depends on it (a shard
// summary through the shards), backups run daily at a fixed time and the
// maintenance weekly, without catching up, everything else only on demand,
// restores need confirm, and no value reaches a binary through its command
// line (catalog's subcommand is the only word there).
func checkDAG(t *testing.T, info testbed.DagsInfo, id string, airflow2 bool) testbed.DagInfo {
	t.Helper()
	d, ok := info.Dags[id]
	if !ok {
		t.Fatalf("Airflow %s: DAG %s missing; have %v", info.Airflow, id, keys(info.Dags))
	}
	if d.Catchup {
		t.Errorf("%s: catchup", id)
	}
	cron, scheduled := schedules[id]
	switch {
	case !scheduled && d.Timetable.Class != "NullTimetable":
		t.Errorf("%s: must run only on demand, has %s", id, d.Timetable.Class)
	case scheduled && (d.Timetable.Class != "CronTriggerTimetable" || d.Timetable.Expression != cron):
		t.Errorf("%s: runs at %q, timetable %+v", id, cron, d.Timetable)
	case strings.Contains(id, "restore") && !slices.Contains(d.Params, "confirm"):
		t.Errorf("%s: no confirm param", id)
	}
	// Unpausing must not start the last interval's run at once: on Airflow 3
	// no start_date and a timetable that waits for the next cron time. (A
	// start_date would make the scheduler run the latest past slot.)
	if !airflow2 && (d.StartDate != nil || (scheduled && d.Timetable.RunImmediately != false)) {
		t.Errorf("%s: start_date %v, run_immediately %v: unpausing would start a run at once", id, d.StartDate, d.Timetable.RunImmediately)
	}
	cfg, ok := d.Tasks["config"]
	if !ok || cfg.Operator != "SrbConfigOperator" || len(cfg.Upstream) != 0 {
		t.Fatalf("%s: the first task must be config (SrbConfigOperator), got %+v", id, cfg)
	}
	for tid, task := range d.Tasks {
		summary := task.Operator == "SrbShardSummary" && slices.ContainsFunc(task.Upstream, func(u string) bool { return d.Tasks[u].Mapped })
		if tid != "config" && !summary && !slices.Contains(task.Upstream, "config") {
			t.Errorf("%s.%s does not take its values from config (upstream %v)", id, tid, task.Upstream)
		}
		if task.Command != nil {
			t.Errorf("%s.%s: runs a shell command %q (values must reach binaries through env)", id, tid, *task.Command)
		}
		if len(task.Args) > 0 && (!slices.Equal(task.Binaries, []string{"catalog"}) || len(task.Args) != 1 || !slices.Contains(catalogCommands, task.Args[0])) {
			t.Errorf("%s.%s: %v %v on the command line; only catalog's subcommand goes there", id, tid, task.Binaries, task.Args)
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
	for _, id := range slices.Concat(k8sDAGs, seedDAGs, projectDAGs) {
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

	// The backup: results flow as XCom references, which also make the
	// dependencies: the archive's path and digest into the fetch, the
	// fetched file and its digest into the upload (into the run's set),
	// the uploaded digest into the FE host's clean-up and the commit, the
	// shards' listings into the commit.
	bk := info.Dags["starrocks_backup"].Tasks
	wantRefs(t, "starrocks_backup", bk, map[string]map[string]string{
		"fe_fetch":               {"SRB_REMOTE_PATH": "fe_archive.remote_path", "SRB_SHA256": "fe_archive.sha256", "SRB_LOCAL_PATH": "config.local_archive"},
		"upload_fe_archive":      {"SRB_LOCAL_PATH": "fe_fetch.local_path", "SRB_SHA256": "fe_fetch.sha256", "SRB_S3_KEY": "config.fe_archive_key"},
		"remove_fe_host_archive": {"SRB_REMOTE_PATH": "fe_archive.remote_path", "SRB_SHA256": "upload_fe_archive.sha256"},
		"plan_shards":            {"SRB_PLAN": "config.shards"},
		"commit_set": {"SRB_BACKUP_ID": "config.backup_id", "SRB_FE_SHA256": "upload_fe_archive.sha256", "SRB_FE_ARCHIVED_AT": "fe_archive.started_at",
			"SRB_DATA_LISTING": "data_summary.data_listings", "SRB_VACUUM_GRACE": "config.vacuum_grace"},
	})
	wantUpstream(t, "starrocks_backup", bk, map[string][]string{
		"fe_fetch":          {"config", "fe_archive"},
		"upload_fe_archive": {"config", "fe_fetch"},
		"plan_shards":       {"config", "upload_fe_archive"},
		"mirror_data":       {"config", "plan_shards"},
		"data_summary":      {"mirror_data", "plan_shards"},
	})
	if !bk["mirror_data"].Mapped || bk["data_summary"].TriggerRule != "TriggerRule.ALL_DONE_MIN_ONE_SUCCESS" || !slices.Equal(bk["commit_set"].Args, []string{"commit"}) {
		t.Errorf("starrocks_backup: mirror_data mapped %v, summary %s, commit %v", bk["mirror_data"].Mapped, bk["data_summary"].TriggerRule, bk["commit_set"].Args)
	}
	// Each task can be cleared and run again: the fetch leaves the FE host's
	// copy (removed once the upload is verified), so clearing the upload
	// (which clears fe_fetch, the setup of the worker's clean-up) finds it;
	// clearing mirror_data clears nothing before it.
	if _, ok := bk["fe_fetch"].Env["SRB_REMOVE_REMOTE"]; ok || bk["remove_fe_host_archive"].Env["SRB_REMOVE_REMOTE"] != true {
		t.Error("starrocks_backup: the FE host's copy must be removed after the upload, not by the fetch")
	}
	if !bk["remove_local_archive"].IsTeardown || !bk["fe_fetch"].IsSetup {
		t.Error("starrocks_backup: the clean-up must be a teardown of fe_fetch (it must not decide the run's state)")
	}
	for task, want := range map[string][]string{
		"mirror_data":       {"commit_set", "data_summary", "mirror_data"},
		"commit_set":        {"commit_set"},
		"upload_fe_archive": {"commit_set", "data_summary", "fe_fetch", "mirror_data", "plan_shards", "remove_fe_host_archive", "remove_local_archive", "upload_fe_archive"},
	} {
		if got := bk[task].ClearedWith; !slices.Equal(got, want) {
			t.Errorf("starrocks_backup: clearing %s clears %v, want %v", task, got, want)
		}
	}

	// The restore: the set verified first, its keys from that result, a dry
	// run before the data, the FE archive after.
	rs := info.Dags["starrocks_restore"].Tasks
	wantRefs(t, "starrocks_restore", rs, map[string]map[string]string{
		"verify_set":          {"SRB_BACKUP_ID": "config.restore_id"},
		"restore_dry_run":     {"SRB_FROM_MANIFEST": "verify_set.manifest_key", "SRB_MAX_DELETE": "config.restore_max_delete"},
		"restore_data":        {"SRB_FROM_MANIFEST": "verify_set.manifest_key"},
		"download_fe_archive": {"SRB_S3_KEY": "verify_set.fe_archive_key", "SRB_LOCAL_PATH": "config.local_archive"},
		"extract_fe_archive":  {"SRB_LOCAL_PATH": "download_fe_archive.local_path", "SRB_RESET_ELECTION_GROUP": "config.reset_election_group"},
	})
	wantUpstream(t, "starrocks_restore", rs, map[string][]string{
		"restore_dry_run":     {"config", "verify_set"},
		"plan_restore_shards": {"config", "restore_dry_run"},
		"download_fe_archive": {"config", "restore_summary", "verify_set"},
		"extract_fe_archive":  {"config", "download_fe_archive"},
	})
	if rs["restore_dry_run"].Env["SRB_DRY_RUN"] != true || rs["restore_data"].Env["SRB_REMOVE"] != true || !rs["restore_data"].Mapped ||
		!slices.Equal(rs["verify_set"].Args, []string{"verify"}) {
		t.Errorf("starrocks_restore: dry run %v, restore %v (mapped %v), verify %v", rs["restore_dry_run"].Env, rs["restore_data"].Env, rs["restore_data"].Mapped, rs["verify_set"].Args)
	}
	mt := info.Dags["starrocks_backup_maintenance"].Tasks
	if !slices.Equal(mt["verify_latest"].Args, []string{"verify"}) || mt["verify_latest"].Env["SRB_DEEP"] != true ||
		!slices.Equal(mt["prune"].Args, []string{"prune"}) || !slices.Equal(mt["prune"].Upstream, []string{"config", "verify_latest"}) {
		t.Errorf("starrocks_backup_maintenance: %+v", mt)
	}
	// The seed guide's ids run the same flows.
	for seed, project := range map[string]string{"backup_be": "starrocks_backup", "backup_starrocks_fe": "starrocks_backup",
		"restore_be": "starrocks_restore", "restore_starrocks_fe": "starrocks_restore"} {
		if got, want := keys(info.Dags[seed].Tasks), keys(info.Dags[project].Tasks); !slices.Equal(got, want) {
			t.Errorf("%s has tasks %v, want those of %s %v", seed, got, project, want)
		}
	}

	// The Kubernetes DAGs get their credentials from Kubernetes Secrets, and
	// each pod's values from config and the previous pod's result.
	for _, id := range k8sDAGs {
		for tid, task := range info.Dags[id].Tasks {
			if tid != "config" && task.Operator != "SrbShardSummary" && (!strings.HasPrefix(task.Operator, "SrbPod") && !task.Mapped || len(task.Secrets) == 0) {
				t.Errorf("%s.%s: %s with secrets %v", id, tid, task.Operator, task.Secrets)
			}
		}
	}
	k8s := info.Dags["starrocks_backup_k8s"].Tasks
	wantRefs(t, "starrocks_backup_k8s", k8s, map[string]map[string]string{
		"fe_fetch_upload":        {"SRB_REMOTE_PATH": "fe_archive.remote_path", "SRB_SHA256": "fe_archive.sha256", "SRB_S3_KEY": "config.fe_archive_key"},
		"remove_fe_host_archive": {"SRB_SHA256": "fe_fetch_upload.sha256", "SRB_REMOVE_REMOTE": "true"},
		"commit_set":             {"SRB_DATA_LISTING": "data_summary.data_listings", "SRB_FE_SHA256": "fe_fetch_upload.sha256"},
	})
	if _, ok := k8s["fe_fetch_upload"].Env["SRB_REMOVE_REMOTE"]; ok || !k8s["mirror_data"].Mapped {
		t.Errorf("starrocks_backup_k8s: fe_fetch_upload %v, mirror_data mapped %v", k8s["fe_fetch_upload"].Env, k8s["mirror_data"].Mapped)
	}
	wantRefs(t, "starrocks_restore_k8s", info.Dags["starrocks_restore_k8s"].Tasks, map[string]map[string]string{
		"restore_data":                {"SRB_FROM_MANIFEST": "verify_set.manifest_key", "SRB_REMOVE": "true"},
		"download_extract_fe_archive": {"SRB_S3_KEY": "verify_set.fe_archive_key"},
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
	for _, id := range slices.Concat(seedDAGs, projectDAGs) {
		checkDAG(t, info, id, strings.HasPrefix(version, "2."))
	}
	for _, id := range k8sDAGs {
		if _, ok := info.Dags[id]; ok {
			t.Errorf("%s defined without the cncf.kubernetes provider", id)
		}
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
