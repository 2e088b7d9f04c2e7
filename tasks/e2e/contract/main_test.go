//go:build e2e

// Package contract_test checks, over every task binary, the parts of the
// contract that do not need a server.
package contract_test

import (
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func TestMain(m *testing.M) { testbed.MainBuild(m) }
