// Package checksum holds what the tasks share about SHA-256 digests: the
// error a mismatch wraps, and the check of a digest given by a user.
package checksum

import (
	"errors"
	"strings"
)

// ErrMismatch is wrapped by every error that reports bytes whose SHA-256
// is not the expected one.
var ErrMismatch = errors.New("sha256 mismatch")

// Normalize lower-cases a hex digest and trims blanks around it.
func Normalize(s string) string { return strings.ToLower(strings.TrimSpace(s)) }

// IsSHA256 reports whether s is a normalized hex SHA-256 (64 digits 0-9a-f).
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
