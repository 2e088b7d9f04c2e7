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
// It checks what encoding/xml checks (see text.go for character data)
// and that tags nest, so that a truncated or mangled body is an error,
// never a shorter page.
type lexer struct {
	b   []byte
	pos int
	// The current token: the local name of a tag (no namespace prefix),
	// whether a start tag closed itself (<a/>), and character data with
	// its entities decoded and its line ends normalized (plain: it is the
	// input itself, which needed neither).
	name  []byte
	empty bool
	text  []byte
	plain bool
	// open holds the elements open, innermost last; an end tag must close
	// the last one.
	open []openTag
	// unesc receives the decoded text of the current token; scratch the
	// text content assembles from several pieces. Both are reused.
	unesc, scratch []byte
}

type openTag struct{ full, local []byte }

// maxDepth bounds how deep elements nest (a listing needs four levels);
// it keeps a hostile body from recursing without end.
const maxDepth = 32

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
			return tokText, l.charData()
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
				return tokText, l.cdata()
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
	end, _ := l.nameEnd(start)
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

// nameEnd returns the end of the name starting at i (i when there is no
// valid name there) and the position of its first colon (-1 if none).
// Names are ASCII: a letter, '_' or ':', then letters, digits and
// "_:.-" (the elements of S3 listings, and metadata names, which are HTTP
// header names). encoding/xml takes more (non-ASCII letters); a name it
// would refuse is never taken.
func (l *lexer) nameEnd(i int) (end, colon int) {
	start, colon := i, -1
	if i >= len(l.b) || !nameStart(l.b[i]) {
		return start, -1
	}
	for ; i < len(l.b) && nameByte[l.b[i]]; i++ {
		if l.b[i] == ':' && colon < 0 {
			colon = i
		}
	}
	if i < len(l.b) && l.b[i] >= utf8.RuneSelf {
		return start, -1 // a non-ASCII name
	}
	return i, colon
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

// name returns the name from start to end with its local part (what
// follows a namespace prefix: "s3:Key"), as encoding/xml splits it; a
// name with two colons is malformed.
func (l *lexer) nameAt(start, end, colon int) (full, local []byte, ok bool) {
	full = l.b[start:end]
	if colon < 0 || colon == start || colon == end-1 {
		return full, full, true
	}
	if bytes.IndexByte(l.b[colon+1:end], ':') >= 0 {
		return nil, nil, false
	}
	return full, l.b[colon+1 : end], true
}

func (l *lexer) skipSpace() {
	for l.pos < len(l.b) && isSpace(l.b[l.pos]) {
		l.pos++
	}
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

func (l *lexer) startTag() error {
	start := l.pos + 1
	end, colon := l.nameEnd(start)
	full, local, ok := l.nameAt(start, end, colon)
	if end == start || !ok {
		return l.errorf("malformed element name")
	}
	l.name, l.empty = local, false
	l.pos = end
	for {
		l.skipSpace()
		if l.pos >= len(l.b) {
			return l.errorf("input ends inside the tag <%s>", full)
		}
		switch l.b[l.pos] {
		case '>':
			if len(l.open) == maxDepth {
				return l.errorf("elements nested deeper than %d", maxDepth)
			}
			l.pos++
			l.open = append(l.open, openTag{full, local})
			return nil
		case '/':
			if l.pos+1 < len(l.b) && l.b[l.pos+1] == '>' {
				l.pos += 2
				l.empty = true
				return nil
			}
			return l.errorf("stray '/' in the tag <%s>", full)
		}
		if err := l.attribute(full); err != nil {
			return err
		}
	}
}

// attribute checks and skips name="value" or name='value'.
func (l *lexer) attribute(tag []byte) error {
	a := l.pos
	end, colon := l.nameEnd(a)
	if _, _, ok := l.nameAt(a, end, colon); !ok || end == a {
		return l.errorf("malformed attribute in the tag <%s>", tag)
	}
	l.pos = end
	l.skipSpace()
	if l.pos >= len(l.b) || l.b[l.pos] != '=' {
		return l.errorf("attribute without a value in the tag <%s>", tag)
	}
	l.pos++
	l.skipSpace()
	if l.pos >= len(l.b) || (l.b[l.pos] != '"' && l.b[l.pos] != '\'') {
		return l.errorf("unquoted attribute value in the tag <%s>", tag)
	}
	q := l.b[l.pos]
	v := bytes.IndexByte(l.b[l.pos+1:], q)
	if v < 0 {
		return l.errorf("unterminated attribute value in the tag <%s>", tag)
	}
	value := l.b[l.pos+1 : l.pos+1+v]
	if bytes.IndexByte(value, '<') >= 0 {
		return l.errorf("'<' in an attribute value in the tag <%s>", tag)
	}
	if _, err := l.decode(value); err != nil {
		return err
	}
	l.pos += 1 + v + 1
	return nil
}

func (l *lexer) endTag() error {
	start := l.pos + 2
	if len(l.open) == 0 {
		return l.errorf("end tag without a start tag")
	}
	top := l.open[len(l.open)-1]
	end := start + len(top.full)
	if !bytes.HasPrefix(l.b[start:], top.full) || end < len(l.b) && nameByte[l.b[end]] {
		e, _ := l.nameEnd(start)
		return l.errorf("end tag </%s> closes <%s>", l.b[start:e], top.full)
	}
	l.pos = end
	l.skipSpace()
	if l.pos >= len(l.b) || l.b[l.pos] != '>' {
		return l.errorf("malformed end tag </%s>", top.full)
	}
	l.pos++
	l.open = l.open[:len(l.open)-1]
	l.name = top.local
	return nil
}

// content reads the rest of the element whose start tag was just read and
// returns its character data, entities decoded. A child element is an
// error: the values read this way are plain text. The result is valid
// until the next call.
func (l *lexer) content() ([]byte, error) {
	if l.empty {
		return nil, nil
	}
	var out []byte
	pieces, firstPlain := 0, false
	for {
		kind, err := l.next()
		if err != nil {
			return nil, err
		}
		switch kind {
		case tokText:
			pieces++
			switch {
			case pieces == 1:
				// The usual case: one piece, used where it is.
				out, firstPlain = l.text, l.plain
				if !l.plain {
					// Keep it from the next token's decoding.
					l.unesc, l.scratch = l.scratch, l.unesc
				}
				continue
			case pieces == 2 && firstPlain:
				l.scratch = append(l.scratch[:0], out...)
			case pieces == 2:
				l.scratch = out // scratch holds it already
			}
			l.scratch = append(l.scratch, l.text...)
			out = l.scratch
		case tokEnd:
			return out, nil
		case tokStart:
			return nil, l.errorf("unexpected element <%s> inside a value", l.name)
		default:
			return nil, l.errorf("input ends inside an element")
		}
	}
}

// children calls fn for each child element of the element whose start tag
// was just read, with the child's local name; fn reads the child whole
// (content, skip or children). Text between children is ignored.
func (l *lexer) children(fn func(name []byte) error) error {
	if l.empty {
		return nil
	}
	for {
		kind, err := l.next()
		if err != nil {
			return err
		}
		switch kind {
		case tokStart:
			if err := fn(l.name); err != nil {
				return err
			}
		case tokEnd:
			return nil
		case tokEOF:
			return l.errorf("input ends inside an element")
		}
	}
}

// skip reads past the end of the element whose start tag was just read,
// whatever it holds (next checks it all the same).
func (l *lexer) skip() error {
	return l.children(func([]byte) error { return l.skip() })
}
