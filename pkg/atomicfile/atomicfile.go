// Package atomicfile writes a file so that it appears at its path whole or
// not at all: the data goes to a temporary file beside the destination (on
// the same filesystem), which Commit syncs and renames into place. Until
// then an earlier file at the destination is untouched, and Abort (safe to
// defer) removes the temporary file.
package atomicfile

import (
	"fmt"
	"os"
	"path/filepath"
)

// File is the temporary file of a destination path.
type File struct {
	*os.File
	dest string
	done bool
}

// Create creates the temporary file ".<base>.part-*" beside dest, with mode
// 0600. The destination's folder must exist.
func Create(dest string) (*File, error) {
	dir := filepath.Dir(dest)
	f, err := os.CreateTemp(dir, "."+filepath.Base(dest)+".part-*")
	if err != nil {
		return nil, fmt.Errorf("create a temporary file in %s: %w", dir, err)
	}
	return &File{File: f, dest: dest}, nil
}

// Commit syncs and closes the temporary file, sets its mode (0 keeps 0600)
// and renames it to the destination.
func (f *File) Commit(perm os.FileMode) error {
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if perm != 0 {
		if err := os.Chmod(f.Name(), perm); err != nil {
			return err
		}
	}
	if err := os.Rename(f.Name(), f.dest); err != nil {
		return err
	}
	f.done = true
	return nil
}

// Abort removes the temporary file unless Commit succeeded.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.Close()
	os.Remove(f.Name())
}

// Write writes data to path atomically with mode perm.
func Write(path string, data []byte, perm os.FileMode) error {
	f, err := Create(path)
	if err != nil {
		return err
	}
	defer f.Abort()
	if _, err := f.File.Write(data); err != nil {
		return err
	}
	return f.Commit(perm)
}
