// Command listsim is a listing-only S3 endpoint for benchmarks: it answers
// bucket checks and ListObjects (V1 and V2: prefix, delimiter, start-after,
// marker, continuation token, max-keys) from a generated StarRocks-like key
// space, with a fixed delay per request. Two instances with the same flags
// serve the same objects (sizes, ETags, times): a no-change pair on which a
// mirror run only lists. Nothing can be written; any other request gets
// 501. Path-style only; signatures are not checked. Listens on loopback.
//
//	listsim -addr 127.0.0.1:9100 -keys 1000000 -delay 20ms
package main

import (
	"bytes"
	"encoding/hex"
	"encoding/xml"
	"flag"
	"fmt"
	"hash/fnv"
	"log"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// modified is every object's modification time: identical on both sides.
var (
	modified     = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	modifiedText = modified.Format("2006-01-02T15:04:05.000Z")
)

func main() {
	addr := flag.String("addr", "127.0.0.1:9100", "listen address (loopback)")
	keys := flag.Int("keys", 1000000, "objects in the key space")
	delay := flag.Duration("delay", 20*time.Millisecond, "delay added to every request")
	flag.Parse()
	start := time.Now()
	s := &server{keys: keySpace(*keys), delay: *delay}
	s.pool.New = func() any { b := make([]byte, 0, 256<<10); return &b }
	log.Printf("listsim: %d keys generated in %s; listening on %s with %s per request", len(s.keys), time.Since(start).Round(time.Millisecond), *addr, *delay)
	log.Fatal(http.ListenAndServe(*addr, s))
}

// keySpace returns n StarRocks-like keys, sorted:
// <service id>/db<d>/<table>/<partition>/{data,meta,log}/... with partitions
// of uneven size (a few large ones, many small).
func keySpace(n int) []string {
	const service = "1018bac0-5cd2-4b5c-9f7e-6ee7a48699d8"
	out := make([]string, 0, n)
	for p := 0; len(out) < n; p++ {
		base := fmt.Sprintf("%s/db%d/%d/%d/", service, 10000+p/300, 20000+p/30, 30000+p)
		files := 40
		switch {
		case p%97 == 0:
			files = 4000 // a large partition
		case p%7 == 0:
			files = 400
		}
		for i := 0; i < files && len(out) < n; i++ {
			switch i % 10 {
			case 0, 1, 2, 3, 4, 5:
				out = append(out, fmt.Sprintf("%sdata/%016x_6f1c2a44-2b7e-4f0e-a2a5-%012x.dat", base, uint64(p)<<20|uint64(i), i))
			case 6, 7:
				out = append(out, fmt.Sprintf("%smeta/%016X_%016X.meta", base, 15000+p, i))
			default:
				out = append(out, fmt.Sprintf("%slog/%016X_%016X.log", base, 15000+p, i))
			}
		}
	}
	sort.Strings(out)
	return out
}

// attrs returns a key's size and ETag (its FNV-128a hash), the same on
// every instance.
func attrs(key string) (size int64, etag [16]byte) {
	h := fnv.New128a()
	h.Write([]byte(key))
	h.Sum(etag[:0])
	return int64(etag[0])<<16 | int64(etag[1])<<8 | int64(etag[2]), etag
}

type server struct {
	keys  []string
	delay time.Duration
	pool  sync.Pool // *[]byte: response bodies
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	time.Sleep(s.delay)
	bucket, object, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	q := r.URL.Query()
	switch {
	case bucket == "":
		s.fail(w, http.StatusNotImplemented, "NotImplemented", "listing buckets is not simulated")
	case object != "":
		s.fail(w, http.StatusNotFound, "NoSuchKey", "listsim serves listings only")
	case r.Method == http.MethodHead:
		w.WriteHeader(http.StatusOK)
	case r.Method != http.MethodGet:
		s.fail(w, http.StatusNotImplemented, "NotImplemented", "read-only")
	case q.Has("location"):
		s.xml(w, struct {
			XMLName xml.Name `xml:"LocationConstraint"`
			Value   string   `xml:",chardata"`
		}{Value: ""})
	case q.Has("versioning"):
		s.xml(w, struct {
			XMLName xml.Name `xml:"VersioningConfiguration"`
		}{})
	case q.Has("uploads"):
		s.xml(w, struct {
			XMLName xml.Name `xml:"ListMultipartUploadsResult"`
			Bucket  string
		}{Bucket: bucket})
	case len(q) == 0 || q.Has("prefix") || q.Has("list-type") || q.Has("marker") || q.Has("delimiter") || q.Has("max-keys"):
		s.list(w, bucket, q)
	default:
		s.fail(w, http.StatusNotImplemented, "NotImplemented", "not simulated: "+r.URL.RawQuery)
	}
}

// page is one listing response.
type page struct {
	name, prefix                                    string
	marker                                          *string // V1 only
	nextMarker, startAfter, token, nextToken, delim string
	keyCount                                        *int // V2 only
	maxKeys                                         int
	truncated                                       bool
	contents                                        []entry
	prefixes                                        []string
}

type entry struct {
	key  string
	size int64
	etag [16]byte
}

func (s *server) list(w http.ResponseWriter, bucket string, q url.Values) {
	v2 := q.Get("list-type") == "2"
	prefix, delim := q.Get("prefix"), q.Get("delimiter")
	max := 1000
	if m, err := strconv.Atoi(q.Get("max-keys")); err == nil && m >= 0 && m < max {
		max = m
	}
	after := q.Get("marker")
	if v2 {
		after = q.Get("start-after")
		if tok := q.Get("continuation-token"); tok != "" {
			after = tok // the token is the last key returned
		}
	}
	res := page{name: bucket, prefix: prefix, maxKeys: max, delim: delim}
	if v2 {
		res.startAfter, res.token = q.Get("start-after"), q.Get("continuation-token")
	} else {
		m := q.Get("marker")
		res.marker = &m
	}
	i := sort.SearchStrings(s.keys, prefix)
	if after >= prefix {
		i = sort.Search(len(s.keys), func(j int) bool { return s.keys[j] > after })
	}
	last := ""
	for n := 0; i < len(s.keys) && strings.HasPrefix(s.keys[i], prefix); {
		if n == max {
			res.truncated = true
			break
		}
		key := s.keys[i]
		if delim != "" {
			if j := strings.Index(key[len(prefix):], delim); j >= 0 {
				cp := key[:len(prefix)+j+len(delim)]
				// A common prefix not after the resume point was listed
				// already (the continuation token is the last one sent),
				// as S3 and MinIO leave it out.
				if cp > after {
					res.prefixes = append(res.prefixes, cp)
					last = cp
					n++
				}
				// Skip every key under this common prefix.
				i = sort.Search(len(s.keys), func(k int) bool { return s.keys[k] >= cp && !strings.HasPrefix(s.keys[k], cp) })
				continue
			}
		}
		e := entry{key: key}
		e.size, e.etag = attrs(key)
		res.contents = append(res.contents, e)
		last = key
		n++
		i++
	}
	if res.truncated {
		if v2 {
			res.nextToken = last
		} else {
			res.nextMarker = last
		}
	}
	if v2 {
		k := len(res.contents) + len(res.prefixes)
		res.keyCount = &k
	}
	// Written by hand, the same bytes as encoding/xml writes for the S3
	// document (main_test.go checks): reflection made listsim's CPU, on
	// the benchmark's two cores, a large part of what a fast client waits
	// for.
	bp := s.pool.Get().(*[]byte)
	buf := res.appendXML(append((*bp)[:0], xml.Header...))
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(buf)))
	_, _ = w.Write(buf)
	*bp = buf
	s.pool.Put(bp)
}

// appendXML appends the page as encoding/xml encodes S3's ListBucketResult.
func (r *page) appendXML(b []byte) []byte {
	el := func(b []byte, name, text string) []byte {
		b = append(append(append(b, '<'), name...), '>')
		b = appendEscaped(b, text)
		return append(append(append(b, "</"...), name...), '>')
	}
	b = append(b, `<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">`...)
	b = el(b, "Name", r.name)
	b = el(b, "Prefix", r.prefix)
	if r.marker != nil {
		b = el(b, "Marker", *r.marker)
	}
	for _, f := range [...]struct{ name, v string }{{"NextMarker", r.nextMarker}, {"StartAfter", r.startAfter},
		{"ContinuationToken", r.token}, {"NextContinuationToken", r.nextToken}} {
		if f.v != "" {
			b = el(b, f.name, f.v)
		}
	}
	if r.keyCount != nil {
		b = el(b, "KeyCount", strconv.Itoa(*r.keyCount))
	}
	b = el(b, "MaxKeys", strconv.Itoa(r.maxKeys))
	if r.delim != "" {
		b = el(b, "Delimiter", r.delim)
	}
	b = el(b, "IsTruncated", strconv.FormatBool(r.truncated))
	for i := range r.contents {
		c := &r.contents[i]
		b = el(append(b, "<Contents>"...), "Key", c.key)
		b = el(b, "LastModified", modifiedText)
		b = append(hex.AppendEncode(append(b, "<ETag>&#34;"...), c.etag[:]), "&#34;</ETag>"...)
		b = append(strconv.AppendInt(append(b, "<Size>"...), c.size, 10), "</Size>"...)
		b = append(b, "<StorageClass>STANDARD</StorageClass></Contents>"...)
	}
	for _, p := range r.prefixes {
		b = append(el(append(b, "<CommonPrefixes>"...), "Prefix", p), "</CommonPrefixes>"...)
	}
	return append(b, "</ListBucketResult>"...)
}

// appendEscaped appends s as xml.EscapeText writes it; printable ASCII
// without markup characters (every generated key) is copied as is.
func appendEscaped(b []byte, s string) []byte {
	plain := true
	for i := 0; i < len(s) && plain; i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\'' && c != '&' && c != '<' && c != '>'
	}
	if plain {
		return append(b, s...)
	}
	var e bytes.Buffer
	_ = xml.EscapeText(&e, []byte(s))
	return append(b, e.Bytes()...)
}

func (s *server) xml(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/xml")
	_, _ = w.Write([]byte(xml.Header))
	if err := xml.NewEncoder(w).Encode(v); err != nil {
		log.Printf("listsim: encode: %v", err)
	}
}

func (s *server) fail(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	_ = xml.NewEncoder(w).Encode(struct {
		XMLName xml.Name `xml:"Error"`
		Code    string
		Message string
	}{Code: code, Message: msg})
}
