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
	"time"
)

// modified is every object's modification time: identical on both sides.
var modified = time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)

func main() {
	addr := flag.String("addr", "127.0.0.1:9100", "listen address (loopback)")
	keys := flag.Int("keys", 1000000, "objects in the key space")
	delay := flag.Duration("delay", 20*time.Millisecond, "delay added to every request")
	flag.Parse()
	start := time.Now()
	s := &server{keys: keySpace(*keys), delay: *delay}
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

func attrs(key string) (size int64, etag string) {
	h := fnv.New128a()
	h.Write([]byte(key))
	sum := h.Sum(nil)
	size = int64(sum[0])<<16 | int64(sum[1])<<8 | int64(sum[2])
	return size, fmt.Sprintf("%x", sum)
}

type server struct {
	keys  []string
	delay time.Duration
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

type content struct {
	Key          string
	LastModified string
	ETag         string
	Size         int64
	StorageClass string
}

type commonPrefix struct{ Prefix string }

type listResult struct {
	XMLName               xml.Name `xml:"http://s3.amazonaws.com/doc/2006-03-01/ ListBucketResult"`
	Name                  string
	Prefix                string
	Marker                *string `xml:",omitempty"`
	NextMarker            string  `xml:",omitempty"`
	StartAfter            string  `xml:",omitempty"`
	ContinuationToken     string  `xml:",omitempty"`
	NextContinuationToken string  `xml:",omitempty"`
	KeyCount              *int    `xml:",omitempty"`
	MaxKeys               int
	Delimiter             string `xml:",omitempty"`
	IsTruncated           bool
	Contents              []content
	CommonPrefixes        []commonPrefix
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
	res := listResult{Name: bucket, Prefix: prefix, MaxKeys: max, Delimiter: delim}
	if v2 {
		res.StartAfter, res.ContinuationToken = q.Get("start-after"), q.Get("continuation-token")
	} else {
		m := q.Get("marker")
		res.Marker = &m
	}
	i := sort.SearchStrings(s.keys, prefix)
	if after >= prefix {
		i = sort.Search(len(s.keys), func(j int) bool { return s.keys[j] > after })
	}
	last := ""
	for n := 0; i < len(s.keys) && strings.HasPrefix(s.keys[i], prefix); {
		if n == max {
			res.IsTruncated = true
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
					res.CommonPrefixes = append(res.CommonPrefixes, commonPrefix{cp})
					last = cp
					n++
				}
				// Skip every key under this common prefix.
				i = sort.Search(len(s.keys), func(k int) bool { return s.keys[k] >= cp && !strings.HasPrefix(s.keys[k], cp) })
				continue
			}
		}
		size, etag := attrs(key)
		res.Contents = append(res.Contents, content{Key: key, LastModified: modified.Format("2006-01-02T15:04:05.000Z"),
			ETag: `"` + etag + `"`, Size: size, StorageClass: "STANDARD"})
		last = key
		n++
		i++
	}
	if res.IsTruncated {
		if v2 {
			res.NextContinuationToken = last
		} else {
			res.NextMarker = last
		}
	}
	if v2 {
		k := len(res.Contents) + len(res.CommonPrefixes)
		res.KeyCount = &k
	}
	s.xml(w, res)
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
