package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
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
	// OffsiteURL, when set, is the endpoint the DAGs' off-site connection
	// names instead of the off-site MinIO's own (a FaultProxy in front of it).
	OffsiteURL string
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
// with the ids the configuration defaults to, and the configuration Variable
// as AIRFLOW_VAR_STARROCKS_BACKUP_CONFIG (see Config).
func (b *Bed) AirflowEnv() []string {
	return []string{
		"AIRFLOW_CONN_MINIO=" + awsURI(b.Cluster, b.Cluster.Endpoint()),
		"AIRFLOW_CONN_AWS_S3=" + awsURI(b.Offsite, b.offsiteURL()),
		"AIRFLOW_CONN_STARROCKS_FE=" + b.SSHD.ConnURI(),
		"AIRFLOW_VAR_STARROCKS_BACKUP_CONFIG=" + b.Config(),
	}
}

// awsURI is an aws connection to m's bucket through endpoint.
func awsURI(m *MinIO, endpoint string) string {
	return fmt.Sprintf("aws://%s:%s@/?endpoint_url=%s&region_name=us-east-1",
		url.QueryEscape(m.AccessKey), url.QueryEscape(m.SecretKey), url.QueryEscape(endpoint))
}

func (b *Bed) offsiteURL() string {
	if b.OffsiteURL != "" {
		return b.OffsiteURL
	}
	return b.Offsite.Endpoint()
}

// ConnectionCommands returns `airflow connections add` commands (their
// arguments) that store the DAGs' connections in the metadata database, in
// the forms the README shows: --conn-type aws and ssh (on an install without
// the amazon and ssh providers Airflow stores both as type generic), and
// --conn-uri, which keeps its type.
func (b *Bed) ConnectionCommands() [][]string {
	extra := func(v map[string]any) string {
		j, _ := json.Marshal(v)
		return string(j)
	}
	return [][]string{
		{"connections", "add", "minio", "--conn-type", "aws", "--conn-login", b.Cluster.AccessKey,
			"--conn-password", b.Cluster.SecretKey, "--conn-extra", extra(map[string]any{"endpoint_url": b.Cluster.Endpoint()})},
		{"connections", "add", "aws_s3", "--conn-uri", awsURI(b.Offsite, b.offsiteURL())},
		{"connections", "add", "starrocks_fe", "--conn-type", "ssh", "--conn-host", b.SSHD.Host,
			"--conn-port", strconv.Itoa(b.SSHD.Port), "--conn-login", b.SSHD.User,
			"--conn-extra", extra(map[string]any{"key_file": b.SSHD.KeyFile, "host_key": b.SSHD.HostKeyBase64()})},
	}
}

// Config returns the value of the Variable starrocks_backup_config for
// this Bed: the settings that differ from the defaults.
func (b *Bed) Config() string {
	j, _ := json.Marshal(map[string]any{"fe_dir": b.FE.Dir, "work_dir": b.WorkDir})
	return string(j)
}

// PodConfig returns the Variable starrocks_backup_config for the
// Kubernetes DAG on this Bed (endpoints and the FE host; keys come from the
// Secret, see PodSecret).
func (b *Bed) PodConfig() string {
	j, _ := json.Marshal(map[string]any{
		"fe_dir": b.FE.Dir, "minio_endpoint": b.Cluster.Endpoint(), "s3_endpoint": b.Offsite.Endpoint(),
		"fe_host": b.SSHD.Host, "fe_port": b.SSHD.Port, "fe_user": b.SSHD.User,
	})
	return string(j)
}

// PodSecret returns the Kubernetes Secret starrocks-backup the Kubernetes
// DAG's pods read their credentials from, for this Bed.
func (b *Bed) PodSecret() (map[string]string, error) {
	key, err := os.ReadFile(b.SSHD.KeyFile)
	if err != nil {
		return nil, err
	}
	return map[string]string{
		"minio-access-key": b.Cluster.AccessKey, "minio-secret-key": b.Cluster.SecretKey,
		"s3-access-key": b.Offsite.AccessKey, "s3-secret-key": b.Offsite.SecretKey,
		"fe-ssh-private-key": string(key), "fe-host-key": b.SSHD.HostKey,
	}, nil
}

// Secrets returns every secret of the Bed, which must appear in no log.
func (b *Bed) Secrets() []string {
	s := []string{b.Cluster.SecretKey, b.Offsite.SecretKey}
	if b.SSHD.Password != "" {
		s = append(s, b.SSHD.Password)
	}
	return s
}
