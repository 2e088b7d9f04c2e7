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
)

func loadDAGs(t *testing.T, major int) testbed.DagsInfo {
	t.Helper()
	a := testbed.NewAirflowT(t, major)
	info, err := a.CheckDags(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(info.ImportErrors) > 0 {
		t.Fatalf("Airflow %s: import errors: %v", info.Airflow, info.ImportErrors)
	}
	return info
}

func TestDAGsLoadOnAirflow3(t *testing.T) {
	info := loadDAGs(t, 3)
	if !strings.HasPrefix(info.Airflow, "3.") {
		t.Fatalf("venv runs Airflow %s", info.Airflow)
	}
	tasks, err := testbed.TaskNames()
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, id := range append(append(append([]string{}, seedDAGs...), projectDAGs...), k8sDAG) {
		d, ok := info.Dags[id]
		if !ok {
			t.Fatalf("DAG %s missing; have %v", id, keys(info.Dags))
		}
		if d.Catchup || d.StartDate != "2025-01-01T00:00:00+00:00" {
			t.Errorf("%s: catchup %v, start_date %s (want false and a fixed UTC date)", id, d.Catchup, d.StartDate)
		}
		restore := strings.Contains(id, "restore")
		if restore && d.Schedule != nil {
			t.Errorf("%s: a restore DAG must never be scheduled, has %q", id, *d.Schedule)
		}
		if !restore && (d.Schedule == nil || *d.Schedule != "@daily") {
			t.Errorf("%s: backup DAGs run daily, schedule %v", id, d.Schedule)
		}
		if restore && !slices.Contains(d.Params, "confirm") {
			t.Errorf("%s: no confirm param", id)
		}
		for tid, task := range d.Tasks {
			for _, b := range task.Binaries {
				if !slices.Contains(tasks, b) {
					t.Errorf("%s.%s runs %q, which is not a binary under tasks/ %v", id, tid, b, tasks)
				}
				used[b] = true
			}
			if task.Operator == "BashOperator" && len(task.Binaries) == 1 && *task.BashCommand != task.Binaries[0] {
				t.Errorf("%s.%s: values must reach the binary through env, not its command line: %q", id, tid, *task.BashCommand)
			}
			for _, e := range task.Env {
				if strings.Contains(e, "SECRET") || strings.Contains(e, "PASSWORD") || strings.Contains(e, "PRIVATE_KEY") {
					t.Errorf("%s.%s: secret variable %s set from the DAG (use a connection or a Kubernetes Secret)", id, tid, e)
				}
			}
		}
	}
	for _, b := range tasks {
		if !used[b] {
			t.Errorf("binary %s is used by no DAG", b)
		}
	}
	// The Kubernetes DAG gets its credentials from Kubernetes Secrets.
	for tid, task := range info.Dags[k8sDAG].Tasks {
		if task.Operator != "KubernetesPodOperator" || len(task.Secrets) == 0 {
			t.Errorf("%s.%s: %s with secrets %v", k8sDAG, tid, task.Operator, task.Secrets)
		}
	}
	// Backup order: FE metadata first, then the data.
	bk := info.Dags["starrocks_backup"].Tasks
	if !bk["remove_local_archive"].IsTeardown {
		t.Error("starrocks_backup: the clean-up must be a teardown task (it must not decide the run's state)")
	}
}

func TestDAGsLoadOnAirflow2(t *testing.T) {
	info := loadDAGs(t, 2)
	if !strings.HasPrefix(info.Airflow, "2.") {
		t.Fatalf("venv runs Airflow %s", info.Airflow)
	}
	for _, id := range append(append([]string{}, seedDAGs...), projectDAGs...) {
		if _, ok := info.Dags[id]; !ok {
			t.Errorf("DAG %s missing on Airflow 2; have %v", id, keys(info.Dags))
		}
	}
	// No cncf.kubernetes provider in this venv: the Kubernetes DAG is left
	// out, without an import error.
	if _, ok := info.Dags[k8sDAG]; ok {
		t.Errorf("%s defined without the cncf.kubernetes provider", k8sDAG)
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
