package s3list

import (
	"bytes"
	"encoding/binary"
	"unicode/utf8"
)

// Character data: checked as encoding/xml checks it (UTF-8, only the
// characters XML 1.0 allows, no "]]>" outside CDATA, every '&' a known
// entity or a reference to an allowed character), then decoded (entities,
// and line ends: CR LF and a lone CR are LF). Most text in a listing is
// printable ASCII without '&': it is checked eight bytes at a time and
// used in place.

// charData reads the character data at l.pos, up to the next '<'.
func (l *lexer) charData() error {
	start := l.pos
	n, special, err := l.scan(l.b[start:], start, false)
	if err != nil {
		return err
	}
	raw := l.b[start : start+n]
	l.pos = start + n
	if !special {
		l.text, l.plain = raw, true
		return nil
	}
	l.unesc, err = l.appendUnescaped(l.unesc[:0], raw, start)
	l.text, l.plain = l.unesc, false
	return err
}

// cdata reads the CDATA section at l.pos: its content is text as it is,
// but for line ends.
func (l *lexer) cdata() error {
	start := l.pos + len("<![CDATA[")
	end := bytes.Index(l.b[start:], []byte("]]>"))
	if end < 0 {
		return l.errorf("unterminated CDATA section")
	}
	raw := l.b[start : start+end]
	_, special, err := l.scan(raw, start, true)
	if err != nil {
		return err
	}
	l.pos = start + end + len("]]>")
	if !special {
		l.text, l.plain = raw, true
		return nil
	}
	l.unesc = appendNewlines(l.unesc[:0], raw)
	l.text, l.plain = l.unesc, false
	return nil
}

// decode checks and decodes text that has no '<' (an attribute value).
func (l *lexer) decode(raw []byte) ([]byte, error) {
	_, special, err := l.scan(raw, l.pos, false)
	if err != nil || !special {
		return raw, err
	}
	l.unesc, err = l.appendUnescaped(l.unesc[:0], raw, l.pos)
	return l.unesc, err
}

const (
	ones = 0x0101010101010101
	high = 0x8080808080808080
)

// hasZero reports (non-zero) whether a byte of x is zero; hasLess whether
// a byte is below n (n ≤ 128).
func hasZero(x uint64) uint64         { return (x - ones) &^ x & high }
func hasLess(x uint64, n byte) uint64 { return (x - ones*uint64(n)) &^ x & high }

// ordinary8 reports whether eight bytes are all printable ASCII other
// than '<', '&' and '>'.
func ordinary8(x uint64) bool {
	return x&high|hasLess(x, 0x20)|hasZero(x^(ones*'<'))|hasZero(x^(ones*'&'))|hasZero(x^(ones*'>')) == 0
}

// scan returns the length of the character data at the start of b: up to
// '<' or the end of b (all of it in a CDATA section); special tells that
// it needs decoding ('&' outside CDATA, CR). at is b's offset in the
// body, for errors.
func (l *lexer) scan(b []byte, at int, cdata bool) (n int, special bool, err error) {
	i := 0
	fail := func(format string, args ...any) (int, bool, error) {
		l.pos = at + i
		return 0, false, l.errorf(format, args...)
	}
	for {
		for i+8 <= len(b) && ordinary8(binary.LittleEndian.Uint64(b[i:])) {
			i += 8
		}
		if i >= len(b) {
			return len(b), special, nil
		}
		switch c := b[i]; {
		case c >= 0x20 && c < utf8.RuneSelf:
			switch c {
			case '<':
				if !cdata {
					return i, special, nil
				}
			case '&':
				special = special || !cdata
			case '>':
				if i >= 2 && b[i-1] == ']' && b[i-2] == ']' && !cdata {
					return fail(`"]]>" outside a CDATA section`)
				}
			}
			i++
		case c == '\t' || c == '\n':
			i++
		case c == '\r':
			special = true
			i++
		case c < 0x20:
			return fail("illegal character %U in text", rune(c))
		default:
			r, size := utf8.DecodeRune(b[i:])
			if r == utf8.RuneError && size == 1 {
				return fail("invalid UTF-8 in text")
			}
			if !xmlChar(r) {
				return fail("illegal character %U in text", r)
			}
			i += size
		}
	}
}

// appendNewlines appends b with XML's end-of-line handling: CR LF and a
// lone CR become LF.
func appendNewlines(dst, b []byte) []byte {
	for {
		i := bytes.IndexByte(b, '\r')
		if i < 0 {
			return append(dst, b...)
		}
		dst = append(append(dst, b[:i]...), '\n')
		b = b[i+1:]
		if len(b) > 0 && b[0] == '\n' {
			b = b[1:]
		}
	}
}

// appendUnescaped appends raw character data (checked by scan) with its
// entities decoded and its line ends normalized. at is raw's offset in
// the body, for errors.
func (l *lexer) appendUnescaped(dst, raw []byte, at int) ([]byte, error) {
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '&')
		if i < 0 {
			return appendNewlines(dst, raw), nil
		}
		dst = appendNewlines(dst, raw[:i])
		raw = raw[i:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 || semi > 12 {
			l.pos = at
			return nil, l.errorf("'&' that starts no entity")
		}
		ent := raw[1:semi]
		raw = raw[semi+1:]
		switch string(ent) {
		case "#34", "quot":
			dst = append(dst, '"')
		case "amp":
			dst = append(dst, '&')
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "apos":
			dst = append(dst, '\'')
		default:
			r, ok := charRef(ent)
			if !ok {
				l.pos = at
				return nil, l.errorf("unknown or invalid entity &%s;", ent)
			}
			dst = utf8.AppendRune(dst, r)
		}
	}
	return dst, nil
}

// charRef decodes the body of a character reference: #N or #xH, naming a
// character XML allows.
func charRef(ent []byte) (rune, bool) {
	if len(ent) < 2 || ent[0] != '#' {
		return 0, false
	}
	digits, base := ent[1:], rune(10)
	if digits[0] == 'x' {
		digits, base = digits[1:], 16
	}
	if len(digits) == 0 {
		return 0, false
	}
	var r rune
	for _, c := range digits {
		var d rune
		switch {
		case c >= '0' && c <= '9':
			d = rune(c - '0')
		case base == 16 && c >= 'a' && c <= 'f':
			d = rune(c-'a') + 10
		case base == 16 && c >= 'A' && c <= 'F':
			d = rune(c-'A') + 10
		default:
			return 0, false
		}
		r = r*base + d
		if r > utf8.MaxRune {
			return 0, false
		}
	}
	return r, xmlChar(r)
}

// xmlChar reports whether XML 1.0 allows the character.
func xmlChar(r rune) bool {
	return r == 0x09 || r == 0x0A || r == 0x0D ||
		r >= 0x20 && r <= 0xD7FF ||
		r >= 0xE000 && r <= 0xFFFD ||
		r >= 0x10000 && r <= 0x10FFFF
}
