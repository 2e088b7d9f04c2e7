//go:build e2e

// Package airflow_test runs the shipped DAGs in real Apache Airflow (the
// pinned virtualenvs of `make airflow-venvs`): the DAGs load on Airflow 3
// and 2, and `airflow dags test` runs a full backup and restore against two
// real MinIO servers and a real sshd.
package airflow_test

import (
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func TestMain(m *testing.M) { testbed.MainBuild(m) }
