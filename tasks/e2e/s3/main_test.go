//go:build e2e

// Package s3_test drives s3-upload and s3-download as processes against a
// real MinIO server.
package s3_test

import (
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// fe-archive too: its --ssh-conn errors must not print secrets either.
func TestMain(m *testing.M) { testbed.MainBuild(m, "s3-upload", "s3-download", "fe-archive") }
