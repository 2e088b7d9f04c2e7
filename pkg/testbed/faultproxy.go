package testbed

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// FaultProxy is an HTTP reverse proxy in front of an S3 server that fails,
// slows down or watches chosen requests, so that tests can reach the error
// paths of a task deterministically. Requests it lets through reach the
// server unchanged (the Host header is kept, so signatures stay valid).
// When the server is down, the proxy resets the client's connection, which
// the client sees as an unreachable server, as it would without the proxy.
type FaultProxy struct {
	upstream *url.URL
	srv      *http.Server
	ln       net.Listener
	rp       *httputil.ReverseProxy
	mu       sync.Mutex
	rules    []*Fault
}

// Fault is a rule of a FaultProxy. The first rule whose Match accepts a
// request (and that has not used up Times) applies to it.
type Fault struct {
	// Match selects requests; nil selects every request.
	Match func(*http.Request) bool
	// Times is how many requests the rule applies to; 0 means no limit.
	Times int
	// Before runs before anything else is done with a matched request
	// (to change the server's state at a precise moment, for instance).
	Before func(*http.Request)
	// Delay waits before the request goes on.
	Delay time.Duration
	// Status, when not 0, answers the request with this HTTP status and an
	// S3 error body with Code instead of passing it on.
	Status int
	Code   string

	hits int
}

// NewFaultProxy starts a proxy in front of the server at upstream (a URL
// such as MinIO.Endpoint()) and stops it at the test's end.
func NewFaultProxy(t testing.TB, upstream string) *FaultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatalf("testbed: fault proxy upstream %q: %v", upstream, err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("testbed: fault proxy: %v", err)
	}
	p := &FaultProxy{upstream: u, ln: ln}
	p.rp = httputil.NewSingleHostReverseProxy(u)
	p.rp.ErrorHandler = resetConn
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 30 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	t.Cleanup(func() { _ = p.srv.Close() })
	return p
}

// Endpoint returns the proxy's URL, to give the task instead of the server's.
func (p *FaultProxy) Endpoint() string { return "http://" + p.ln.Addr().String() }

// Add adds a rule after the existing ones and returns it (for Hits).
func (p *FaultProxy) Add(f *Fault) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = append(p.rules, f)
	return f
}

// Clear removes every rule.
func (p *FaultProxy) Clear() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Hits returns how many requests a rule applied to.
func (p *FaultProxy) Hits(f *Fault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return f.hits
}

func (p *FaultProxy) match(r *http.Request) *Fault {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, f := range p.rules {
		if f.Times > 0 && f.hits >= f.Times {
			continue
		}
		if f.Match == nil || f.Match(r) {
			f.hits++
			return f
		}
	}
	return nil
}

// ServeHTTP applies the first matching rule, then passes the request on.
func (p *FaultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f := p.match(r); f != nil {
		if f.Before != nil {
			f.Before(r)
		}
		if f.Delay > 0 {
			time.Sleep(f.Delay)
		}
		if f.Status != 0 {
			// Read the body first: a client still sending it would see a
			// broken connection instead of the answer.
			_, _ = io.Copy(io.Discard, r.Body)
			w.Header().Set("Content-Type", "application/xml")
			w.WriteHeader(f.Status)
			if r.Method != http.MethodHead {
				fmt.Fprintf(w, `<?xml version="1.0" encoding="UTF-8"?>`+"\n"+
					`<Error><Code>%s</Code><Message>injected by the testbed fault proxy</Message><Resource>%s</Resource></Error>`,
					f.Code, r.URL.Path)
			}
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

// resetConn answers a request the server could not take (it is down) by
// resetting the client's connection.
func resetConn(w http.ResponseWriter, _ *http.Request, _ error) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		return
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // close with RST
	}
	_ = conn.Close()
}

// S3 request predicates for Fault.Match, for path-style requests
// (/bucket/key).

// IsS3List matches object listings (ListObjects V1 or V2) of any bucket.
func IsS3List(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	b, k := S3BucketKey(r)
	q := r.URL.Query()
	return b != "" && k == "" && !q.Has("location") && !q.Has("versioning") && !q.Has("uploads") &&
		!q.Has("policy") && !q.Has("object-lock") && !q.Has("versions")
}

// IsS3Put matches object writes: PUT of a whole object or of a part.
func IsS3Put(r *http.Request) bool {
	_, k := S3BucketKey(r)
	return r.Method == http.MethodPut && k != ""
}

// S3BucketKey returns the bucket and the (unescaped) key of a path-style request.
func S3BucketKey(r *http.Request) (bucket, key string) {
	path := strings.TrimPrefix(r.URL.Path, "/")
	bucket, key, _ = strings.Cut(path, "/")
	return bucket, key
}

// S3KeyIs matches requests on the object key (any method).
func S3KeyIs(key string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		_, k := S3BucketKey(r)
		return k == key
	}
}

// MatchAll matches requests every predicate matches.
func MatchAll(preds ...func(*http.Request) bool) func(*http.Request) bool {
	return func(r *http.Request) bool {
		for _, p := range preds {
			if !p(r) {
				return false
			}
		}
		return true
	}
}
