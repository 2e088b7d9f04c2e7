//go:build !linux

package sshx

import "os"

func startWriteback(*os.File, int64, int64) {}
