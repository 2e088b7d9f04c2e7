package mirror

import (
	"regexp"
	"strings"

	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Excludes is a set of --exclude patterns. A pattern is matched against the
// whole key relative to the side's prefix (so one pattern means the same
// objects on both sides, in the backup and the restore direction):
//
//	pattern  matches
//	*        any run of characters except '/'
//	**       any run of characters, '/' included; "**/" also matches
//	         nothing, so "**/x.lock" matches "x.lock" and "a/b/x.lock"
//	?        one character except '/'
//	[abc]    one character of the class; [a-z] ranges; [!abc] or [^abc]
//	         negates (and never matches '/')
//	\c       the character c itself
//
// Everything else matches itself, byte for byte. Wildcards match any
// character, a newline included (keys may hold one). Examples, with --source
// b/starrocks: "**/*.lock" excludes every .lock file, "*/db10043/**" one
// database of every service, "tmp/**" everything under starrocks/tmp/.
type Excludes struct {
	patterns []string
	globs    []glob
}

// glob is one compiled pattern. The literal text before its first and
// after its last wildcard is checked first: most keys fail that check,
// which is much cheaper than the regular expression (the merge calls Match
// for every key of both sides).
type glob struct {
	prefix, suffix string
	re             *regexp.Regexp
}

// CompileExcludes checks and compiles the patterns; a bad one is a usage error.
func CompileExcludes(patterns []string) (*Excludes, error) {
	x := &Excludes{}
	for _, p := range patterns {
		if p == "" {
			return nil, usage.Errorf("--exclude: empty pattern")
		}
		g, err := compileGlob(p)
		if err != nil {
			return nil, usage.Errorf("--exclude %q: %v", p, err)
		}
		x.patterns = append(x.patterns, p)
		x.globs = append(x.globs, g)
	}
	return x, nil
}

// Match reports whether the relative key is excluded.
func (x *Excludes) Match(rel string) bool {
	if x == nil {
		return false
	}
	for i := range x.globs {
		g := &x.globs[i]
		if len(rel) >= len(g.prefix)+len(g.suffix) && strings.HasPrefix(rel, g.prefix) &&
			strings.HasSuffix(rel, g.suffix) && g.re.MatchString(rel) {
			return true
		}
	}
	return false
}

// Patterns returns the patterns as given.
func (x *Excludes) Patterns() []string {
	if x == nil {
		return nil
	}
	return x.patterns
}

type globError string

func (e globError) Error() string { return string(e) }

// compileGlob translates one glob into an anchored regular expression and
// finds its literal prefix and suffix.
func compileGlob(pattern string) (glob, error) {
	p := []rune(pattern)
	var b strings.Builder
	var lit []rune // the literal run being read
	var g glob
	wild := false
	special := func() {
		if !wild {
			g.prefix = string(lit)
		}
		wild, lit = true, lit[:0]
	}
	for i := 0; i < len(p); i++ {
		switch c := p[i]; c {
		case '*':
			special()
			switch {
			case i+2 < len(p) && p[i+1] == '*' && p[i+2] == '/':
				i += 2
				b.WriteString(`(?:.*/)?`)
			case i+1 < len(p) && p[i+1] == '*':
				i++
				b.WriteString(`.*`)
			default:
				b.WriteString(`[^/]*`)
			}
		case '?':
			special()
			b.WriteString(`[^/]`)
		case '\\':
			if i+1 >= len(p) {
				return g, globError("trailing backslash")
			}
			i++
			lit = append(lit, p[i])
			b.WriteString(regexp.QuoteMeta(string(p[i])))
		case '[':
			special()
			end, class, err := globClass(p, i)
			if err != nil {
				return g, err
			}
			b.WriteString(class)
			i = end
		default:
			lit = append(lit, c)
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	if wild {
		g.suffix = string(lit)
	} else {
		g.prefix = string(lit) // no wildcard: the whole key
	}
	// (?s): ** and the like match any byte sequence of a key, newlines
	// included (S3 keys may hold them).
	re, err := regexp.Compile(`^(?s:` + b.String() + `)$`)
	if err != nil {
		return g, globError(strings.TrimPrefix(err.Error(), "error parsing regexp: "))
	}
	g.re = re
	return g, nil
}

// globClass translates the class starting at p[start] == '[' and returns
// the index of its closing ']'. A negated class never matches '/'.
func globClass(p []rune, start int) (int, string, error) {
	var b strings.Builder
	b.WriteString("[")
	i := start + 1
	if i < len(p) && (p[i] == '!' || p[i] == '^') {
		b.WriteString("^/")
		i++
	}
	members := 0
	for ; i < len(p); i++ {
		c := p[i]
		switch {
		case c == ']' && members > 0:
			b.WriteString("]")
			return i, b.String(), nil
		case c == '\\':
			if i+1 >= len(p) {
				return 0, "", globError("trailing backslash")
			}
			i++
			b.WriteString(regexp.QuoteMeta(string(p[i])))
		case c == '-' && members > 0 && i+1 < len(p) && p[i+1] != ']':
			b.WriteString("-")
			continue // a range: the next character is its end, not a new member
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
		members++
	}
	return 0, "", globError("unclosed character class '['")
}
