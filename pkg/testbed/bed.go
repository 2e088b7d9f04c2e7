package testbed

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"testing"
)

// Bucket names of the Bed, the DAG params' defaults.
const (
	BedClusterBucket = "starrocks"
	BedBackupBucket  = "starrocks-backup"
)

// Bed is the whole set-up the DAGs run against: the cluster's MinIO, a
// second MinIO standing in for the off-site S3, an sshd standing in for the
// FE host with a StarRocks-like FE folder, and a worker folder.
type Bed struct {
	Dir     string
	Cluster *MinIO // the StarRocks cluster's object storage
	Offsite *MinIO // stands in for S3
	SSHD    *SSHD
	FE      *FEFixture
	WorkDir string // the Airflow worker's folder for archives
}

// StartBed starts the servers under dir, writes the FE folder (under a path
// with a space, as real installations sometimes have) and creates the two
// buckets (the off-site one versioned, as an off-site bucket should be).
func StartBed(ctx context.Context, dir string) (_ *Bed, err error) {
	b := &Bed{Dir: dir, WorkDir: filepath.Join(dir, "worker")}
	defer func() {
		if err != nil {
			b.Stop()
		}
	}()
	for _, d := range []string{b.WorkDir, filepath.Join(dir, "sshd")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, err
		}
	}
	if b.Cluster, err = StartMinIO(filepath.Join(dir, "minio-cluster")); err != nil {
		return nil, fmt.Errorf("cluster MinIO: %w", err)
	}
	if b.Offsite, err = StartMinIO(filepath.Join(dir, "minio-offsite")); err != nil {
		return nil, fmt.Errorf("off-site MinIO: %w", err)
	}
	if b.SSHD, err = StartSSHD(filepath.Join(dir, "sshd")); err != nil {
		return nil, fmt.Errorf("sshd: %w", err)
	}
	if b.FE, err = WriteFEFixture(filepath.Join(dir, "fe host", "opt", "starrocks", "fe")); err != nil {
		return nil, err
	}
	if err := b.Cluster.MakeBucket(ctx, BedClusterBucket, false); err != nil {
		return nil, err
	}
	if err := b.Offsite.MakeBucket(ctx, BedBackupBucket, true); err != nil {
		return nil, err
	}
	return b, nil
}

// NewBed starts a Bed for a test and stops it at the test's end.
func NewBed(t testing.TB) *Bed {
	t.Helper()
	b, err := StartBed(context.Background(), t.TempDir())
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	t.Cleanup(b.Stop)
	return b
}

// Stop stops every server the Bed started.
func (b *Bed) Stop() {
	if b.SSHD != nil {
		b.SSHD.Stop()
	}
	if b.Offsite != nil {
		b.Offsite.Stop()
	}
	if b.Cluster != nil {
		b.Cluster.Stop()
	}
}

// AirflowEnv returns the DAGs' connections as AIRFLOW_CONN_* variables,
// with the ids the DAG params default to.
func (b *Bed) AirflowEnv() []string {
	aws := func(m *MinIO) string {
		return fmt.Sprintf("aws://%s:%s@/?endpoint_url=%s&region_name=us-east-1",
			url.QueryEscape(m.AccessKey), url.QueryEscape(m.SecretKey), url.QueryEscape(m.Endpoint()))
	}
	return []string{
		"AIRFLOW_CONN_MINIO=" + aws(b.Cluster),
		"AIRFLOW_CONN_AWS_S3=" + aws(b.Offsite),
		"AIRFLOW_CONN_STARROCKS_FE=" + b.SSHD.ConnURI(),
	}
}

// Conf returns the DAG run conf for this Bed (params that differ from the
// defaults), plus extra.
func (b *Bed) Conf(extra map[string]any) map[string]any {
	c := map[string]any{"fe_dir": b.FE.Dir, "work_dir": b.WorkDir}
	for k, v := range extra {
		c[k] = v
	}
	return c
}

// Secrets returns every secret of the Bed, which must appear in no log.
func (b *Bed) Secrets() []string {
	s := []string{b.Cluster.SecretKey, b.Offsite.SecretKey}
	if b.SSHD.Password != "" {
		s = append(s, b.SSHD.Password)
	}
	return s
}
