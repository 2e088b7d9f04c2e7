package s3conf

import (
	"context"
	"net/url"
	"testing"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// The connection's addressing_style, read the ways boto3 and Airflow
// write it.
func TestAddressingStyleFromConnection(t *testing.T) {
	for conn, want := range map[string]string{
		`{"conn_type": "aws", "extra": {"endpoint_url": "http://minio:9000"}}`:                                                        AddressingAuto,
		`{"conn_type": "aws", "extra": {"endpoint_url": "http://minio:9000", "addressing_style": "virtual"}}`:                         AddressingVirtual,
		`{"conn_type": "aws", "extra": {"endpoint_url": "http://minio:9000", "config_kwargs": {"s3": {"addressing_style": "path"}}}}`: AddressingPath,
		`{"conn_type": "aws", "extra": {"s3": {"addressing_style": "Virtual"}}}`:                                                      AddressingVirtual,
	} {
		c, err := Input{Conn: conn, Getenv: func(string) string { return "" }}.Resolve()
		if err != nil || c.Addressing != want {
			t.Errorf("%s: addressing %q, %v; want %q", conn, c.Addressing, err, want)
		}
	}
	_, err := Input{Conn: `{"conn_type": "aws", "extra": {"addressing_style": "dns"}}`, Getenv: func(string) string { return "" }}.Resolve()
	if err == nil || !usage.Is(err) {
		t.Errorf("unknown style: %v, want a usage error", err)
	}
}

// Where mirror's client puts the bucket: AWS S3 on the regional endpoint
// (as the AWS SDK of s3-upload), virtual-host except for bucket names with
// dots over HTTPS (the certificate would not match); path-style elsewhere
// unless the connection says virtual. Presigned URLs show the address a
// request would use, without a request.
func TestMinioAddressing(t *testing.T) {
	aws := Config{Region: "eu-west-1", AccessKey: "AKIAEXAMPLE", SecretKey: "secret", Addressing: AddressingAuto}
	minioCfg := Config{Endpoint: "http://minio.example:9000", Region: "us-east-1", AccessKey: "k", SecretKey: "s", Addressing: AddressingAuto}
	with := func(c Config, style string) Config { c.Addressing = style; return c }
	for _, tc := range []struct {
		name       string
		cfg        Config
		bucket     string
		host, path string
	}{
		{"aws, dotted bucket: path-style", aws, "backups.example.com", "s3.eu-west-1.amazonaws.com", "/backups.example.com/k"},
		{"aws, plain bucket: virtual-host", aws, "backups", "backups.s3.eu-west-1.amazonaws.com", "/k"},
		{"aws, path forced", with(aws, AddressingPath), "backups", "s3.eu-west-1.amazonaws.com", "/backups/k"},
		{"minio: path-style", minioCfg, "backups", "minio.example:9000", "/backups/k"},
		{"gateway requiring virtual-host", with(minioCfg, AddressingVirtual), "backups", "backups.minio.example:9000", "/k"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cl, err := NewMinio(tc.cfg, 4)
			if err != nil {
				t.Fatal(err)
			}
			u, err := cl.PresignedGetObject(context.Background(), tc.bucket, "k", time.Minute, url.Values{})
			if err != nil {
				t.Fatal(err)
			}
			if u.Host != tc.host || u.Path != tc.path {
				t.Fatalf("%s%s, want %s%s", u.Host, u.Path, tc.host, tc.path)
			}
		})
	}
}

// Every client's transport reads objects as stored: it never asks for
// gzip (which Go's transport would silently unzip).
func TestTransportNeverAsksForGzip(t *testing.T) {
	tr, err := Config{}.Transport(4)
	if err != nil || !tr.DisableCompression {
		t.Fatalf("DisableCompression %v, %v", tr != nil && tr.DisableCompression, err)
	}
}
