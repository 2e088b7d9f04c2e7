package conn

import (
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Errors of the URI form. None of them quotes the URI or a part of it: a
// URI holds secrets, and a malformed one puts them anywhere (an unencoded
// '/' in the password turns the rest of the password into the port).
var (
	errURIForm = errors.New("not a connection URI (type://login:password@host:port/schema?extra=value) nor JSON")
	errNoType  = errors.New("the connection URI has no type before '://'")
	errPort    = errors.New("the connection URI's port is not a number from 1 to 65535; " +
		"if the login or password holds '/', '?', '#', '@' or ':', write them URL-encoded (%2F, %3F, %23, %40, %3A)")
	errProtocol = errors.New("the connection URI's host protocol (type://protocol://host) cannot hold '@' or ':'")
	errBracket  = errors.New("the connection URI's host has an unbalanced '[' or ']'")
	errExtraKey = errors.New("the connection URI's __extra__ is not a JSON object")
)

// parseURI reads a connection URI the way Airflow does
// (airflow.models.Connection._parse_from_uri on Python's urlsplit): the
// parts are split by hand rather than with net/url, whose stricter rules
// refuse URIs Airflow itself writes (get_uri escapes the ':' of a host that
// has a protocol: generic://http://k:s@minio%3A9000/).
func parseURI(uri string) (*Connection, error) {
	if n := strings.Count(uri, "://"); n == 0 || n > 2 {
		return nil, errURIForm
	}
	scheme, rest, _ := strings.Cut(uri, "://")
	if !validScheme(scheme) {
		return nil, errNoType
	}
	protocol := ""
	if p, r, ok := strings.Cut(rest, "://"); ok {
		if strings.ContainsAny(p, "@:") || !validScheme(p) {
			return nil, errProtocol
		}
		protocol, rest = strings.ToLower(p), r
	}
	netloc, path, query := splitURI(rest)
	if strings.Contains(netloc, "[") != strings.Contains(netloc, "]") {
		return nil, errBracket
	}
	c := &Connection{ConnType: normalizeType(strings.ToLower(scheme))}
	if userinfo, hostinfo, ok := cutLast(netloc, "@"); ok {
		login, password, _ := strings.Cut(userinfo, ":")
		c.Login, c.Password = unquote(login), unquote(password)
		netloc = hostinfo
	}
	hostinfo := netloc
	host, port := splitHostPort(hostinfo)
	if port != "" {
		p, err := strconv.Atoi(port)
		if err != nil || port[0] == '+' || port[0] == '-' || p > 65535 {
			return nil, errPort
		}
		c.Port = p
	}
	c.Host = unquote(host)
	if strings.Contains(c.Host, "/") {
		// Airflow takes such a host (an escaped path in it) from the
		// network location without lower-casing it.
		h, _, _ := strings.Cut(hostinfo, ":")
		c.Host = unquote(h)
	}
	if c.Host != "" && protocol != "" {
		c.Host = protocol + "://" + c.Host
	}
	if len(path) > 1 {
		c.Schema = unquote(path[1:])
	}
	if query != "" {
		if err := c.parseQuery(query); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// validScheme: a letter, then letters, digits, '+', '-', '.' (RFC 3986).
func validScheme(s string) bool {
	if s == "" || !isLetter(s[0]) {
		return false
	}
	for i := 1; i < len(s); i++ {
		if c := s[i]; !isLetter(c) && (c < '0' || c > '9') && c != '+' && c != '-' && c != '.' {
			return false
		}
	}
	return true
}

func isLetter(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') }

// splitURI splits what follows "type://" into the network location, the
// path and the query (the fragment is dropped), as urlsplit does.
func splitURI(rest string) (netloc, path, query string) {
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		return rest, "", ""
	}
	netloc, rest = rest[:end], rest[end:]
	rest, _, _ = strings.Cut(rest, "#")
	path, query, _ = strings.Cut(rest, "?")
	return netloc, path, query
}

func cutLast(s, sep string) (before, after string, found bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// splitHostPort splits host[:port] or [ipv6][:port]. The host is lower-cased
// up to a '%' (an IPv6 zone or an escape keeps its case), as urlsplit does.
func splitHostPort(hostinfo string) (host, port string) {
	if _, bracketed, ok := strings.Cut(hostinfo, "["); ok {
		host, after, _ := strings.Cut(bracketed, "]")
		_, port, _ = strings.Cut(after, ":")
		return lowerHost(host), port
	}
	host, port, _ = strings.Cut(hostinfo, ":")
	return lowerHost(host), port
}

func lowerHost(h string) string {
	before, after, ok := strings.Cut(h, "%")
	if !ok {
		return strings.ToLower(h)
	}
	return strings.ToLower(before) + "%" + after
}

// parseQuery reads the query as Airflow does: "__extra__" holds the whole
// extra as JSON; otherwise each parameter is an extra field, parsed as JSON
// when it is JSON, the last of repeated ones winning.
func (c *Connection) parseQuery(query string) error {
	params := map[string]string{}
	for _, kv := range strings.Split(query, "&") {
		if kv == "" {
			continue
		}
		k, v, _ := strings.Cut(kv, "=")
		params[unquote(strings.ReplaceAll(k, "+", " "))] = unquote(strings.ReplaceAll(v, "+", " "))
	}
	if ex, ok := params["__extra__"]; ok {
		if err := json.Unmarshal([]byte(ex), &c.Extra); err != nil || c.Extra == nil {
			return errExtraKey
		}
		return nil
	}
	c.Extra = make(map[string]any, len(params))
	for k, v := range params {
		var parsed any
		if err := json.Unmarshal([]byte(v), &parsed); err == nil {
			c.Extra[k] = parsed
		} else {
			c.Extra[k] = v
		}
	}
	return nil
}

// unquote decodes %XX escapes as Python's urllib.parse.unquote does: an
// invalid escape stays as written, invalid UTF-8 becomes U+FFFD. It never
// fails, so that no error has to say where a URI is malformed.
func unquote(s string) string {
	if !strings.Contains(s, "%") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && i+2 < len(s) && isHex(s[i+1]) && isHex(s[i+2]) {
			b = append(b, unhex(s[i+1])<<4|unhex(s[i+2]))
			i += 2
			continue
		}
		b = append(b, s[i])
	}
	if utf8.Valid(b) {
		return string(b)
	}
	var sb strings.Builder
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b) // utf8.RuneError, 1 for each invalid byte
		sb.WriteRune(r)
		b = b[n:]
	}
	return sb.String()
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func unhex(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}
