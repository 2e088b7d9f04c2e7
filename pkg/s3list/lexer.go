package s3list

import (
	"bytes"
	"fmt"
	"unicode/utf8"
)

// Token kinds returned by lexer.next.
const (
	tokEOF = iota
	tokStart
	tokEnd
	tokText
)

// lexer reads the XML of one response body without reflection: start and
// end tags (attributes checked and skipped), character data and CDATA;
// the XML declaration, processing instructions and comments are skipped;
// a DOCTYPE is refused (no entity beyond the five predefined ones exists).
// It checks that tags nest, so that a truncated or mangled body is an
// error, never a shorter page.
type lexer struct {
	b   []byte
	pos int
	// The current token: the local name of a tag (no namespace prefix),
	// whether a start tag closed itself (<a/>), and raw character data.
	name  []byte
	empty bool
	text  []byte
	cdata bool // text is a CDATA section: no entity in it
	// open holds the names of the elements open, innermost last; an end
	// tag must close the last one.
	open [][]byte
	// scratch receives unescaped text, check the text of entities
	// checked; both are reused.
	scratch, check []byte
}

func (l *lexer) reset(b []byte) {
	l.b, l.pos, l.open = b, 0, l.open[:0]
}

// errorf describes a malformed body, with the offset of the fault.
func (l *lexer) errorf(format string, args ...any) error {
	return fmt.Errorf("malformed XML at byte %d: %s", l.pos, fmt.Sprintf(format, args...))
}

// next reads the next token. At the end of the input it returns tokEOF;
// whether elements were left open is for the caller to tell.
func (l *lexer) next() (int, error) {
	for {
		b := l.b
		if l.pos >= len(b) {
			return tokEOF, nil
		}
		if b[l.pos] != '<' {
			end := bytes.IndexByte(b[l.pos:], '<')
			if end < 0 {
				end = len(b) - l.pos
			}
			l.text, l.cdata = b[l.pos:l.pos+end], false
			if err := l.checkText(l.text); err != nil {
				return 0, err
			}
			l.pos += end
			return tokText, nil
		}
		if l.pos+1 >= len(b) {
			return 0, l.errorf("input ends inside a tag")
		}
		switch b[l.pos+1] {
		case '/':
			return tokEnd, l.endTag()
		case '?':
			if err := l.procInst(); err != nil {
				return 0, err
			}
		case '!':
			rest := b[l.pos:]
			switch {
			case bytes.HasPrefix(rest, []byte("<!--")):
				// A comment ends at the first "--", which must be "-->".
				end := bytes.Index(rest[4:], []byte("--"))
				if end < 0 || 4+end+2 >= len(rest) || rest[4+end+2] != '>' {
					return 0, l.errorf("unterminated comment, or \"--\" inside one")
				}
				l.pos += 4 + end + 3
			case bytes.HasPrefix(rest, []byte("<![CDATA[")):
				end := bytes.Index(rest[9:], []byte("]]>"))
				if end < 0 {
					return 0, l.errorf("unterminated CDATA section")
				}
				l.text, l.cdata = rest[9:9+end], true
				if err := l.checkChars(l.text); err != nil {
					return 0, err
				}
				l.pos += 9 + end + 3
				return tokText, nil
			default:
				return 0, l.errorf("DOCTYPE or markup declaration not supported")
			}
		default:
			return tokStart, l.startTag()
		}
	}
}

// procInst skips a processing instruction; the XML declaration must
// declare version 1.0 and UTF-8, if anything.
func (l *lexer) procInst() error {
	start := l.pos + 2
	end := l.nameEnd(start)
	if end == start {
		return l.errorf("processing instruction without a target")
	}
	target := l.b[start:end]
	i := bytes.Index(l.b[end:], []byte("?>"))
	if i < 0 {
		return l.errorf("unterminated processing instruction")
	}
	data := l.b[end : end+i]
	l.pos = end + i + 2
	if string(target) == "xml" {
		if v := pseudoAttr(data, "version"); v != nil && string(v) != "1.0" {
			return l.errorf("XML version %q not supported", v)
		}
		if v := pseudoAttr(data, "encoding"); v != nil && !bytes.EqualFold(v, []byte("utf-8")) {
			return l.errorf("encoding %q not supported", v)
		}
	}
	return nil
}

// pseudoAttr returns the quoted value of name="..." in an XML
// declaration, nil when there is none.
func pseudoAttr(data []byte, name string) []byte {
	for {
		i := bytes.Index(data, []byte(name+"="))
		if i < 0 || i+len(name)+1 >= len(data) {
			return nil
		}
		data = data[i+len(name)+1:]
		if q := data[0]; q == '"' || q == '\'' {
			if j := bytes.IndexByte(data[1:], q); j >= 0 {
				return data[1 : 1+j]
			}
			return nil
		}
	}
}

// nameEnd returns the end of the name starting at i, or i when there is
// no valid name there. Names are ASCII: a letter, '_' or ':', then
// letters, digits and "_:.-" (the elements of S3 listings, and metadata
// names, which are HTTP header names). encoding/xml takes more
// (non-ASCII letters); a name it would refuse is never taken.
func (l *lexer) nameEnd(i int) int {
	start := i
	if i >= len(l.b) || !nameStart(l.b[i]) {
		return start
	}
	for i < len(l.b) && nameByte[l.b[i]] {
		i++
	}
	if i < len(l.b) && l.b[i] >= utf8.RuneSelf {
		return start // a non-ASCII name
	}
	return i
}

var nameByte = func() (t [256]bool) {
	for c := range 256 {
		t[c] = nameStart(byte(c)) || c >= '0' && c <= '9' || c == '.' || c == '-'
	}
	return t
}()

func nameStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_' || c == ':'
}

// local returns the local part of a name: what follows a namespace
// prefix ("s3:Key"); a name with more than one colon is malformed.
func local(name []byte) ([]byte, bool) {
	space, rest, found := bytes.Cut(name, []byte(":"))
	switch {
	case !found:
		return name, true
	case bytes.IndexByte(rest, ':') >= 0:
		return nil, false
	case len(space) == 0 || len(rest) == 0:
		return name, true
	}
	return rest, true
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.b) && isSpace(l.b[l.pos]) {
		l.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (l *lexer) startTag() error {
	start := l.pos + 1
	end := l.nameEnd(start)
	if end == start {
		return l.errorf("tag without a name")
	}
	full := l.b[start:end]
	name, ok := local(full)
	if !ok {
		return l.errorf("malformed name <%s>", full)
	}
	l.name, l.empty = name, false
	l.pos = end
	for {
		l.skipSpace()
		if l.pos >= len(l.b) {
			return l.errorf("input ends inside the tag <%s>", full)
		}
		switch l.b[l.pos] {
		case '>':
			l.pos++
			l.open = append(l.open, full)
			return nil
		case '/':
			if l.pos+1 < len(l.b) && l.b[l.pos+1] == '>' {
				l.pos += 2
				l.empty = true
				return nil
			}
			return l.errorf("stray '/' in the tag <%s>", full)
		}
		// An attribute: name="value" or name='value'.
		a := l.pos
		l.pos = l.nameEnd(a)
		if _, ok := local(l.b[a:l.pos]); !ok || l.pos == a {
			return l.errorf("malformed attribute in the tag <%s>", full)
		}
		l.skipSpace()
		if l.pos >= len(l.b) || l.b[l.pos] != '=' {
			return l.errorf("attribute without a value in the tag <%s>", full)
		}
		l.pos++
		l.skipSpace()
		if l.pos >= len(l.b) || (l.b[l.pos] != '"' && l.b[l.pos] != '\'') {
			return l.errorf("unquoted attribute value in the tag <%s>", full)
		}
		q := l.b[l.pos]
		v := bytes.IndexByte(l.b[l.pos+1:], q)
		if v < 0 {
			return l.errorf("unterminated attribute value in the tag <%s>", full)
		}
		value := l.b[l.pos+1 : l.pos+1+v]
		if bytes.IndexByte(value, '<') >= 0 {
			return l.errorf("'<' in an attribute value in the tag <%s>", full)
		}
		if err := l.checkText(value); err != nil {
			return err
		}
		l.pos += 1 + v + 1
	}
}

func (l *lexer) endTag() error {
	start := l.pos + 2
	end := l.nameEnd(start)
	full := l.b[start:end]
	l.pos = end
	l.skipSpace()
	if l.pos >= len(l.b) || l.b[l.pos] != '>' {
		return l.errorf("malformed end tag </%s>", full)
	}
	l.pos++
	if len(l.open) == 0 {
		return l.errorf("end tag </%s> without a start tag", full)
	}
	if top := l.open[len(l.open)-1]; !bytes.Equal(top, full) {
		return l.errorf("end tag </%s> closes <%s>", full, top)
	}
	l.open = l.open[:len(l.open)-1]
	l.name, _ = local(full) // the same bytes as the start tag's, checked there
	return nil
}

// depth is the number of elements open.
func (l *lexer) depth() int { return len(l.open) }

// content reads the rest of the element whose start tag was just read and
// returns its character data, entities decoded (next checked them). A child
// element is an error: the values read this way are plain text. The
// result is valid until the next call.
func (l *lexer) content() ([]byte, error) {
	if l.empty {
		return nil, nil
	}
	var out []byte
	pieces, unescaped := 0, false
	for {
		kind, err := l.next()
		if err != nil {
			return nil, err
		}
		switch kind {
		case tokText:
			pieces++
			if pieces == 1 && !l.cdata && clean(l.text) {
				out = l.text // the usual case: one plain piece, used in place
				continue
			}
			if !unescaped {
				l.scratch, unescaped = append(l.scratch[:0], out...), true
			}
			if l.cdata {
				l.scratch = appendNewlines(l.scratch, l.text)
			} else if l.scratch, err = l.appendUnescaped(l.scratch, l.text); err != nil {
				return nil, err
			}
		case tokEnd:
			if unescaped {
				out = l.scratch
			}
			return out, nil
		case tokStart:
			return nil, l.errorf("unexpected element <%s> inside a value", l.name)
		default:
			return nil, l.errorf("input ends inside an element")
		}
	}
}

// skip reads past the end of the element whose start tag was just read,
// whatever it holds (next checks it all the same).
func (l *lexer) skip() error {
	if l.empty {
		return nil
	}
	stop := l.depth() - 1
	for {
		kind, err := l.next()
		if err != nil {
			return err
		}
		switch kind {
		case tokEOF:
			return l.errorf("input ends inside an element")
		case tokEnd:
			if l.depth() == stop {
				return nil
			}
		}
	}
}

// checkText checks raw character data as encoding/xml does: UTF-8, only
// characters XML allows, and every '&' starting a known entity or a
// character reference to an allowed character.
func (l *lexer) checkText(raw []byte) error {
	if err := l.checkChars(raw); err != nil {
		return err
	}
	if bytes.IndexByte(raw, '&') < 0 {
		return nil
	}
	var err error
	l.check, err = l.appendUnescaped(l.check[:0], raw)
	return err
}

// clean reports whether raw text needs no unescaping: no entity, no CR.
func clean(b []byte) bool {
	return bytes.IndexByte(b, '&') < 0 && bytes.IndexByte(b, '\r') < 0
}

// appendNewlines appends b with XML's end-of-line handling: CR LF and a
// lone CR become LF.
func appendNewlines(dst, b []byte) []byte {
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c == '\r' {
			if i+1 < len(b) && b[i+1] == '\n' {
				continue
			}
			c = '\n'
		}
		dst = append(dst, c)
	}
	return dst
}

// appendUnescaped appends raw character data with its entities decoded
// (the five predefined ones and character references) and its line ends
// normalized.
func (l *lexer) appendUnescaped(dst, raw []byte) ([]byte, error) {
	for len(raw) > 0 {
		i := bytes.IndexByte(raw, '&')
		if i < 0 {
			return appendNewlines(dst, raw), nil
		}
		dst = appendNewlines(dst, raw[:i])
		raw = raw[i:]
		semi := bytes.IndexByte(raw, ';')
		if semi < 0 || semi > 12 {
			return nil, l.errorf("'&' that starts no entity")
		}
		ent := raw[1:semi]
		raw = raw[semi+1:]
		switch string(ent) {
		case "amp":
			dst = append(dst, '&')
		case "lt":
			dst = append(dst, '<')
		case "gt":
			dst = append(dst, '>')
		case "quot":
			dst = append(dst, '"')
		case "apos":
			dst = append(dst, '\'')
		default:
			r, ok := charRef(ent)
			if !ok {
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

// checkChars refuses text that is not UTF-8, holds a character XML does
// not allow (a control character, U+FFFE, U+FFFF) or "]]>" (which only
// ends a CDATA section; a CDATA section's content cannot hold it).
func (l *lexer) checkChars(b []byte) error {
	for i := 0; i < len(b); {
		c := b[i]
		if c >= 0x20 && c < utf8.RuneSelf {
			if c == '>' && i >= 2 && b[i-1] == ']' && b[i-2] == ']' {
				return l.errorf("\"]]>\" outside a CDATA section")
			}
			i++
			continue
		}
		if c < 0x20 {
			if c != '\t' && c != '\n' && c != '\r' {
				return l.errorf("illegal character %U in text", rune(c))
			}
			i++
			continue
		}
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return l.errorf("invalid UTF-8 in text")
		}
		if !xmlChar(r) {
			return l.errorf("illegal character %U in text", r)
		}
		i += size
	}
	return nil
}
