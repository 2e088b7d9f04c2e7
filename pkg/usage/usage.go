// Package usage marks errors that come from bad usage or configuration: a
// missing or invalid flag, an unreadable secret file, a malformed connection.
// Such errors are detected before any work starts and make a task exit with
// code 2 (see pkg/taskrun), where every other failure exits with code 1.
package usage

import (
	"errors"
	"fmt"
)

type usageError struct{ err error }

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// Errorf returns a usage error formatted like fmt.Errorf (%w is honoured).
func Errorf(format string, args ...any) error {
	return &usageError{err: fmt.Errorf(format, args...)}
}

// Wrap marks err as a usage error. Wrap(nil) is nil.
func Wrap(err error) error {
	if err == nil || Is(err) {
		return err
	}
	return &usageError{err: err}
}

// Is reports whether err, or an error it wraps, is a usage error.
func Is(err error) bool {
	var u *usageError
	return errors.As(err, &u)
}
