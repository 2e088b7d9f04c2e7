package mirror

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// KeyRange is a half-open range [Start, End) of keys relative to a side's
// prefix (the same relative keys on both sides). An empty Start means from
// the first key, an empty End to the last: the zero KeyRange is the whole
// key space. Shards of one mirror take ranges that tile the key space, so
// that together they do exactly what one run does.
type KeyRange struct{ Start, End string }

// rangeSep separates the two bounds of a key range's text form.
const rangeSep = ".."

// String gives the range as --key-range takes it and --plan writes it:
// START..END, each bound percent-encoded byte by byte except for the
// letters, digits, '-', '_', '~' and '/', so that any key (dots, spaces,
// newlines, '%', non-ASCII) survives a trip through a shell, an XCom or a
// Kubernetes argument, and ".." is only ever the separator. The whole key
// space is "..".
func (k KeyRange) String() string { return escapeBound(k.Start) + rangeSep + escapeBound(k.End) }

// Whole reports whether the range is the whole key space.
func (k KeyRange) Whole() bool { return k.Start == "" && k.End == "" }

// Contains reports whether a relative key falls in the range.
func (k KeyRange) Contains(rel string) bool {
	return rel >= k.Start && (k.End == "" || rel < k.End)
}

// before reports whether a relative key sorts before the range's end (it
// may still be before its start).
func (k KeyRange) before(rel string) bool { return k.End == "" || rel < k.End }

func escapeBound(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_' || c == '~' || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// ParseKeyRange reads START..END as KeyRange.String writes it. Each bound
// is percent-decoded; a '.' inside a bound must be written %2E (else the
// separator would be ambiguous). The bounds must be UTF-8 (as S3 keys
// are) and START must sort before END unless END is empty. Errors are
// usage errors.
func ParseKeyRange(s string) (KeyRange, error) {
	bad := func(why string) (KeyRange, error) {
		return KeyRange{}, usage.Errorf("--key-range %q: %s", s, why)
	}
	i := strings.Index(s, rangeSep)
	if i < 0 || strings.Count(s, ".") != len(rangeSep) {
		return bad("want START..END, each bound percent-encoded (a '.' in a bound is %2E), as --plan writes them")
	}
	var k KeyRange
	var err error
	if k.Start, err = url.PathUnescape(s[:i]); err != nil {
		return bad("START is not percent-encoded: " + err.Error())
	}
	if k.End, err = url.PathUnescape(s[i+len(rangeSep):]); err != nil {
		return bad("END is not percent-encoded: " + err.Error())
	}
	switch {
	case !utf8.ValidString(k.Start) || !utf8.ValidString(k.End):
		return bad("a bound is not UTF-8 (S3 keys are)")
	case k.End != "" && k.Start >= k.End:
		return bad("START must sort before END (the range would hold no key)")
	}
	return k, nil
}

// folder returns the longest folder (ending in '/', or "") that every key
// of the range starts with: a listing of the range needs no wider prefix.
// Any string between two bounds starts with their common prefix; it is cut
// back to a '/' so that the prefix sent to S3 is a folder, as ASCII as the
// separator.
func (k KeyRange) folder() string {
	if k.End == "" {
		return ""
	}
	n := 0
	for n < len(k.Start) && n < len(k.End) && k.Start[n] == k.End[n] {
		n++
	}
	return k.Start[:strings.LastIndexByte(k.Start[:n], '/')+1]
}

// startAfter returns a StartAfter (key marker) for a listing that must
// include Start: a string just below it. When Start ends in an ASCII byte
// above 1, that byte is decremented, so that only keys that extend the
// result are listed in vain (and dropped); otherwise the last character is
// removed. The result stays UTF-8, and never holds a NUL.
func (k KeyRange) startAfter() string {
	s := k.Start
	if s == "" {
		return ""
	}
	if c := s[len(s)-1]; c > 1 && c < utf8.RuneSelf {
		return s[:len(s)-1] + string(rune(c-1))
	}
	_, size := utf8.DecodeLastRuneInString(s)
	return s[:len(s)-size]
}

// intersect returns the part of k inside o, and whether there is one.
func (k KeyRange) intersect(o KeyRange) (KeyRange, bool) {
	r := KeyRange{Start: max(k.Start, o.Start), End: k.End}
	if r.End == "" || (o.End != "" && o.End < r.End) {
		r.End = o.End
	}
	return r, r.End == "" || r.Start < r.End
}

// prefixEnd returns the smallest string above every string that starts
// with the folder f ("" for the whole space): f with its last byte, '/',
// raised to '0'.
func prefixEnd(f string) string {
	if f == "" {
		return ""
	}
	return f[:len(f)-1] + "0"
}
