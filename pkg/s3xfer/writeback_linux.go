package s3xfer

import (
	"os"

	"golang.org/x/sys/unix"
)

// startWriteback asks the kernel to start writing part k of f to disk
// (sync_file_range, SYNC_FILE_RANGE_WRITE: it does not wait), so that the
// fsync before the rename finds little left to write. An error is of no
// consequence: the fsync writes whatever is left.
func startWriteback(f *os.File, l layout, k int) {
	off, n := l.part(k)
	_ = unix.SyncFileRange(int(f.Fd()), off, n, unix.SYNC_FILE_RANGE_WRITE)
}
