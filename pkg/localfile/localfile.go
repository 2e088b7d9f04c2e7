// Package localfile holds the checks every task makes on the local files
// it is given: an input that must be a readable regular file, an output
// whose folder must exist, and file errors reduced to their reason (the
// path is already in the message that wraps them).
package localfile

import (
	"errors"
	"os"
	"path/filepath"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Reason returns the reason of a file error without its path
// ("no such file or directory"), or err itself.
func Reason(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// OpenRegular opens path, which must be a readable regular file; flag
// names the flag it came from in the usage errors.
func OpenRegular(flag, path string) (*os.File, os.FileInfo, error) {
	if path == "" {
		return nil, nil, usage.Errorf("%s is required", flag)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, usage.Errorf("%s %s: file not readable: %v", flag, path, Reason(err))
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, nil, usage.Errorf("%s %s: %v", flag, path, Reason(err))
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, nil, usage.Errorf("%s %s: not a regular file", flag, path)
	}
	return f, fi, nil
}

// CheckOutput checks that a file can be written at path: its folder
// exists (and is a folder), and path itself is not a folder.
func CheckOutput(flag, path string) error {
	if path == "" {
		return usage.Errorf("%s is required", flag)
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil && errors.Is(err, os.ErrNotExist):
		return usage.Errorf("%s %s: folder %s does not exist", flag, path, dir)
	case err != nil:
		return usage.Errorf("%s %s: folder %s: %v", flag, path, dir, Reason(err))
	case !fi.IsDir():
		return usage.Errorf("%s %s: %s is a file, not a folder", flag, path, dir)
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return usage.Errorf("%s %s is a folder; give the file's path", flag, path)
	}
	return nil
}
