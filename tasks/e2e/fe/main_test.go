//go:build e2e

// Package fe_test drives fe-archive, fe-fetch and fe-extract as processes
// against a real OpenSSH sshd serving a StarRocks-like FE folder. The only
// in-process SSH server (fault_test.go) injects a dropped or stalled
// connection, which a real sshd cannot be made to do on cue.
package fe_test

import (
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func TestMain(m *testing.M) { testbed.MainBuild(m, "fe-archive", "fe-fetch", "fe-extract") }
