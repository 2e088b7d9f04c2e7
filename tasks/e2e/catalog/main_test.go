//go:build e2e

// Package catalog_test drives the catalog binary against a real MinIO
// server holding backup sets.
package catalog_test

import (
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func TestMain(m *testing.M) { testbed.MainBuild(m, "catalog") }
