//go:build e2e

package airflow_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

type configCase struct {
	Names     []string       `json:"names"`
	RunParams []string       `json:"run_params,omitempty"`
	Variable  *string        `json:"variable"`
	Conf      map[string]any `json:"conf,omitempty"`
	Given     map[string]any `json:"given,omitempty"`
}

type configResult struct {
	Cfg      map[string]any    `json:"cfg"`
	Source   map[string]string `json:"source"`
	Warnings []string          `json:"warnings"`
	Error    *string           `json:"error"`
}

func ptr(s string) *string { return &s }

// The configuration resolver of the DAGs (dags/srb_config.py), the one the
// config task runs: defaults, then the Variable, then the run's params; and
// one clear message naming the bad key for every kind of mistake.
func TestConfigurationResolved(t *testing.T) {
	af := testbed.NewAirflowT(t, testbed.Airflow3)
	worker := []string{"minio_conn_id", "minio_bucket", "minio_prefix", "s3_conn_id", "backup_bucket", "data_prefix", "sets_prefix",
		"fe_ssh_conn_id", "fe_dir", "work_dir", "shards", "vacuum_grace", "restore_max_delete"}
	k8s := []string{"fe_dir", "fe_port", "sets_prefix", "data_prefix"}
	maintenance := []string{"s3_conn_id", "backup_bucket", "data_prefix", "sets_prefix", "keep_last", "keep_daily", "keep_weekly", "keep_monthly", "prune_max_delete"}
	restore := []string{"confirm", "backup_id", "reset_election_group"}
	cases := []struct {
		name    string
		c       configCase
		want    map[string]any    // values expected
		from    map[string]string // and where they came from
		warning string            // a warning expected
		error   []string          // or the error's parts
	}{
		{name: "no Variable: the defaults", c: configCase{Names: worker},
			want: map[string]any{"fe_dir": "/opt/starrocks/fe", "work_dir": "/tmp", "backup_bucket": "starrocks-backup", "sets_prefix": "backups",
				"shards": float64(1), "vacuum_grace": "30m"},
			from: map[string]string{"fe_dir": "default"}},
		{name: "the retention defaults", c: configCase{Names: maintenance},
			want: map[string]any{"keep_last": float64(0), "keep_daily": float64(7), "keep_weekly": float64(4), "keep_monthly": float64(6), "prune_max_delete": float64(100000)}},
		{name: "the Variable over the defaults, the run over the Variable, a null param keeps the Variable",
			c: configCase{Names: worker, Variable: ptr(`{"fe_dir": "/data/fe", "work_dir": "/scratch", "data_prefix": "/d/"}`),
				Given: map[string]any{"work_dir": "/run", "fe_dir": nil}},
			want: map[string]any{"fe_dir": "/data/fe", "work_dir": "/run", "data_prefix": "d"},
			from: map[string]string{"fe_dir": "Variable starrocks_backup_config", "work_dir": "run conf"}},
		{name: "per-run params pass through", c: configCase{Names: worker, RunParams: restore, Conf: map[string]any{"confirm": true},
			Given: map[string]any{"confirm": true, "backup_id": "2026-11-29T01-00-00Z"}},
			want: map[string]any{"confirm": true, "backup_id": "2026-11-29T01-00-00Z"}},
		{name: "an older release's key is a warning, not a stop", c: configCase{Names: worker, Variable: ptr(`{"fe_prefix": "fe", "shards": 4}`)},
			want: map[string]any{"shards": float64(4)}, warning: `"fe_prefix" is no longer used (FE archives now live in each backup set`},
		{name: "not a backup id", c: configCase{Names: worker, RunParams: restore, Given: map[string]any{"backup_id": "yesterday"}},
			error: []string{`"backup_id" must be a backup set id such as 2026-11-29T01-00-00Z (catalog list shows them), got "yesterday"`}},
		{name: "no shard", c: configCase{Names: worker, Given: map[string]any{"shards": 0}},
			error: []string{`"shards" must be 1-1024, got 0 (from run conf)`}},
		{name: "a grace period that is not a duration", c: configCase{Names: worker, Variable: ptr(`{"vacuum_grace": "30 minutes"}`)},
			error: []string{`"vacuum_grace" must be a duration such as 30m or 4h, got "30 minutes"`}},
		{name: "a negative retention", c: configCase{Names: maintenance, Variable: ptr(`{"keep_daily": -1}`)},
			error: []string{`"keep_daily" must be at least 0, got -1 (from Variable starrocks_backup_config)`}},
		{name: "a typo in the Variable", c: configCase{Names: worker, Variable: ptr(`{"fe_dri": "/x"}`)},
			error: []string{`Variable starrocks_backup_config: unknown key "fe_dri"`, `did you mean "fe_dir"?`}},
		{name: "an unknown key", c: configCase{Names: worker, Variable: ptr(`{"colour": "blue"}`)},
			error: []string{`unknown key "colour"`, "known: backup_bucket, data_prefix"}},
		{name: "a typo in the run conf", c: configCase{Names: worker, RunParams: restore, Conf: map[string]any{"confrim": true}},
			error: []string{`run conf: unknown key "confrim"`, `did you mean "confirm"?`}},
		{name: "a string for a port", c: configCase{Names: k8s, Variable: ptr(`{"fe_port": "2222"}`)},
			error: []string{`"fe_port" must be integer, got "2222"`}},
		{name: "a boolean for a port", c: configCase{Names: k8s, Variable: ptr(`{"fe_port": true}`)},
			error: []string{`"fe_port" must be integer, got true`}},
		{name: "a number for a bucket", c: configCase{Names: worker, Variable: ptr(`{"backup_bucket": 5}`)},
			error: []string{`"backup_bucket" must be string, got 5`}},
		{name: "a wrong type in the run conf", c: configCase{Names: worker, Given: map[string]any{"fe_dir": 7}},
			error: []string{`run conf: "fe_dir" must be string, got 7`}},
		{name: "a required value left empty", c: configCase{Names: worker, Variable: ptr(`{"backup_bucket": "  "}`)},
			error: []string{`"backup_bucket" is empty (from Variable starrocks_backup_config); it is required`}},
		{name: "a relative path", c: configCase{Names: worker, Given: map[string]any{"work_dir": "tmp"}},
			error: []string{`"work_dir" must be an absolute path, got "tmp" (from run conf)`}},
		{name: "not JSON", c: configCase{Names: worker, Variable: ptr(`{"fe_dir": `)},
			error: []string{"Variable starrocks_backup_config is not valid JSON"}},
		{name: "not an object", c: configCase{Names: worker, Variable: ptr(`["fe_dir"]`)},
			error: []string{"Variable starrocks_backup_config must hold a JSON object, not list"}},
		{name: "a per-run choice in the Variable", c: configCase{Names: worker, Variable: ptr(`{"confirm": true}`)},
			error: []string{`"confirm" is chosen per run`}},
		{name: "the sets inside the data copy", c: configCase{Names: worker, Variable: ptr(`{"sets_prefix": "/data/sets/"}`)},
			error: []string{`"data_prefix" (data) and "sets_prefix" (data/sets) must not overlap`}},
		{name: "no such port", c: configCase{Names: k8s, Variable: ptr(`{"fe_port": 70000}`)},
			error: []string{`"fe_port" must be a TCP port, got 70000`}},
	}
	var in []configCase
	for _, c := range cases {
		in = append(in, c.c)
	}
	b, _ := json.Marshal(in)
	root, _ := testbed.Root()
	var out []configResult
	if err := af.Script(context.Background(), &out, "check_config.py", filepath.Join(root, "dags"), string(b)); err != nil {
		t.Fatal(err)
	}
	if len(out) != len(cases) {
		t.Fatalf("%d results for %d cases", len(out), len(cases))
	}
	for i, c := range cases {
		got := out[i]
		if c.error != nil {
			if got.Error == nil {
				t.Errorf("%s: accepted, resolved to %v", c.name, got.Cfg)
				continue
			}
			for _, part := range c.error {
				if !strings.Contains(*got.Error, part) {
					t.Errorf("%s: error %q, want %q in it", c.name, *got.Error, part)
				}
			}
			if strings.Contains(*got.Error, "\n") {
				t.Errorf("%s: a multi-line error %q", c.name, *got.Error)
			}
			continue
		}
		if got.Error != nil {
			t.Errorf("%s: %s", c.name, *got.Error)
			continue
		}
		if w := strings.Join(got.Warnings, "\n"); (c.warning == "") != (w == "") || !strings.Contains(w, c.warning) {
			t.Errorf("%s: warnings %q, want %q", c.name, w, c.warning)
		}
		for k, v := range c.want {
			if got.Cfg[k] != v {
				t.Errorf("%s: %s = %v, want %v", c.name, k, got.Cfg[k], v)
			}
		}
		for k, v := range c.from {
			if got.Source[k] != v {
				t.Errorf("%s: %s from %q, want %q", c.name, k, got.Source[k], v)
			}
		}
	}
}

// A run with a bad configuration fails in its first task, with the message
// naming the key, and nothing else runs; so does a run whose connections
// are not defined, and a restore without confirm.
func TestBadConfigurationStopsTheRun(t *testing.T) {
	home := t.TempDir() // one metadata database for the three runs
	for _, c := range []struct{ dag, variable, want string }{
		{"starrocks_backup", `{"fe_dri": "/data/fe"}`, `configuration: Variable starrocks_backup_config: unknown key "fe_dri" (did you mean "fe_dir"?)`},
		{"starrocks_backup", `{}`, `configuration: connection "minio" (minio_conn_id) cannot be read`},
		{"starrocks_restore", `{}`, `refusing to restore: trigger the DAG with the param confirm=true`},
	} {
		af, err := testbed.NewAirflow(home, testbed.Airflow3, testbed.BinDir(), "AIRFLOW_VAR_STARROCKS_BACKUP_CONFIG="+c.variable)
		if err != nil {
			t.Fatal(err)
		}
		run, out, err := af.DagsTest(context.Background(), c.dag, nil)
		if err != nil {
			t.Fatal(err)
		}
		if run.State != "failed" || run.Tasks["config"].State != "failed" || !strings.Contains(out, c.want) {
			t.Fatalf("%s, Variable %s: run %s, tasks %v; want config failed with %q:\n%s", c.dag, c.variable, run.State, run.States(), c.want, tail(out))
		}
		for task, ti := range run.Tasks {
			if task != "config" && ti.State != "upstream_failed" {
				t.Errorf("%s, Variable %s: %s ran (%s) after the configuration failed", c.dag, c.variable, task, ti.State)
			}
		}
	}
}

// A worker without the binaries (an image not built from
// Dockerfile.airflow) fails the task with one line saying so.
func TestMissingBinaryIsAClearFailure(t *testing.T) {
	af, err := testbed.NewAirflow(t.TempDir(), testbed.Airflow3, t.TempDir(),
		"AIRFLOW_CONN_MINIO=aws://k:s@", "AIRFLOW_CONN_AWS_S3=aws://k:s@", "AIRFLOW_CONN_STARROCKS_FE=ssh://root@fe")
	if err != nil {
		t.Fatal(err)
	}
	run, out, err := af.DagsTest(context.Background(), "starrocks_backup", nil)
	if err != nil {
		t.Fatal(err)
	}
	want := "fe-archive is not on the worker's PATH: install the project's binaries"
	if run.Tasks["config"].State != "success" || run.Tasks["fe_archive"].State != "failed" || !strings.Contains(out, want) {
		t.Fatalf("run %s, tasks %v; want %q:\n%s", run.State, run.States(), want, tail(out))
	}
}
