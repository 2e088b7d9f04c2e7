//go:build e2e

// Package mirror_test drives the mirror binary as a process against real
// MinIO servers: two for the streamed path, one for the server-side path,
// and a fault proxy (pkg/testbed) where a failure must happen at a precise
// moment. Sharded backups are committed with catalog (and s3-upload for
// the FE archive).
package mirror_test

import (
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func TestMain(m *testing.M) { testbed.MainBuild(m, "mirror", "catalog", "s3-upload") }
