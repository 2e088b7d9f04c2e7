//go:build e2e

// Package sets_test runs backup sets end to end through the binaries, on
// two real MinIO servers (the cluster's and the off-site one): back up
// (s3-upload, mirror --manifest, catalog commit), change the cluster the
// way StarRocks does, back up again, and restore either set exactly
// (mirror --from-manifest --remove).
package sets_test

import (
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func TestMain(m *testing.M) { testbed.MainBuild(m, "mirror", "catalog", "s3-upload") }
