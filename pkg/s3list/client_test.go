package s3list

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/minio/minio-go/v7"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

const (
	testAccess = "AKIATESTACCESS"
	testSecret = "s3cr3t/Key+Value"
	testToken  = "session-token-secret"
)

func testConfig(endpoint string) s3conf.Config {
	return s3conf.Config{Endpoint: endpoint, Region: "us-east-1", AccessKey: testAccess, SecretKey: testSecret, SessionToken: testToken}
}

// fake is an in-process S3 endpoint for fault injection: it answers with
// serve and records the requests.
type fake struct {
	*httptest.Server
	mu   sync.Mutex
	reqs []*http.Request
}

func newFake(t *testing.T, serve func(w http.ResponseWriter, r *http.Request)) (*fake, *Client) {
	t.Helper()
	f := &fake{}
	f.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.reqs = append(f.reqs, r)
		f.mu.Unlock()
		serve(w, r)
	}))
	t.Cleanup(f.Close)
	c, err := New(testConfig(f.URL), 4)
	if err != nil {
		t.Fatal(err)
	}
	return f, c
}

func (f *fake) requests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.reqs...)
}

// The requests carry every listing parameter, and are signed (with the
// session token) by minio-go's signer.
func TestRequestShape(t *testing.T) {
	f, c := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("versions") {
			_, _ = io.WriteString(w, `<ListVersionsResult></ListVersionsResult>`)
			return
		}
		_, _ = w.Write(page(""))
	})
	ctx := context.Background()
	var p Page
	if err := c.ListPage(ctx, Query{Bucket: "bkt", Prefix: "a b/+&", Delimiter: "/", StartAfter: "a b/x", ContinuationToken: "tok=",
		MaxKeys: 7, Metadata: true}, &p); err != nil {
		t.Fatal(err)
	}
	if err := c.VersionsPage(ctx, VersionsQuery{Bucket: "bkt", Prefix: "p/", KeyMarker: "p/k", VersionIDMarker: "v1", MaxKeys: 3}, &p); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	want := []url.Values{
		{"list-type": {"2"}, "encoding-type": {"url"}, "prefix": {"a b/+&"}, "delimiter": {"/"}, "start-after": {"a b/x"},
			"continuation-token": {"tok="}, "max-keys": {"7"}, "metadata": {"true"}},
		{"versions": {""}, "encoding-type": {"url"}, "prefix": {"p/"}, "key-marker": {"p/k"}, "version-id-marker": {"v1"}, "max-keys": {"3"}},
	}
	for i, r := range reqs {
		if r.Method != http.MethodGet || r.URL.Path != "/bkt/" {
			t.Errorf("request %d: %s %s", i, r.Method, r.URL.Path)
		}
		if got := r.URL.Query(); got.Encode() != want[i].Encode() {
			t.Errorf("request %d: query %s, want %s", i, got.Encode(), want[i].Encode())
		}
		auth := r.Header.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential="+testAccess+"/") || !strings.Contains(auth, "/us-east-1/s3/aws4_request") ||
			!strings.Contains(auth, "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token,") {
			t.Errorf("request %d: Authorization %q", i, auth)
		}
		if r.Header.Get("X-Amz-Security-Token") != testToken || r.Header.Get("X-Amz-Content-Sha256") != emptySHA256 || r.Header.Get("X-Amz-Date") == "" {
			t.Errorf("request %d: headers %v", i, r.Header)
		}
	}
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
}

// Without credentials (no keys, nothing in the AWS credential chain) a
// listing is sent unsigned, as minio-go sends it, and the server decides.
func TestAnonymous(t *testing.T) {
	noCreds := httptest.NewServer(http.NotFoundHandler()) // the chain's container endpoint, with nothing
	t.Cleanup(noCreds.Close)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_ACCESS_KEY", "AWS_SECRET_ACCESS_KEY", "AWS_SECRET_KEY", "AWS_SESSION_TOKEN",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", noCreds.URL)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" || r.URL.Query().Has("X-Amz-Signature") {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		_, _ = w.Write(page("", keyEntry("public")))
	}))
	t.Cleanup(srv.Close)
	c, err := New(s3conf.Config{Endpoint: srv.URL, Region: "us-east-1"}, 4)
	if err != nil {
		t.Fatal(err)
	}
	var p Page
	if err := c.ListPage(context.Background(), Query{Bucket: "public"}, &p); err != nil || len(p.Objects) != 1 {
		t.Fatalf("%+v %v", p.Objects, err)
	}
}

// roundTripper answers every request with a canned page, recording it.
type roundTripper struct{ reqs []*http.Request }

func (rt *roundTripper) RoundTrip(r *http.Request) (*http.Response, error) {
	rt.reqs = append(rt.reqs, r)
	return &http.Response{StatusCode: 200, Body: io.NopCloser(strings.NewReader(string(page("")))), Request: r}, nil
}

// Buckets are addressed as s3conf's minio-go client addresses them:
// virtual-host on AWS, path-style on other servers.
func TestAddressing(t *testing.T) {
	for _, tc := range []struct {
		cfg              s3conf.Config
		hostPrefix, path string
	}{
		{s3conf.Config{Region: "eu-west-1", AccessKey: "k", SecretKey: "s"}, "backups.s3.", "/"},
		{s3conf.Config{Endpoint: "https://minio.example:9000", Region: "us-east-1", AccessKey: "k", SecretKey: "s"}, "minio.example:9000", "/backups/"},
	} {
		rt := &roundTripper{}
		c, err := NewWith(tc.cfg, rt)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.ListPage(context.Background(), Query{Bucket: "backups"}, &Page{}); err != nil {
			t.Fatal(err)
		}
		u := rt.reqs[0].URL
		if u.Scheme != "https" || !strings.HasPrefix(u.Host, tc.hostPrefix) || u.Path != tc.path || u.Query().Has("X-Amz-Signature") {
			t.Errorf("%s: request to %s", tc.cfg, u)
		}
		if tc.cfg.AWS() && !strings.HasSuffix(u.Host, ".eu-west-1.amazonaws.com") {
			t.Errorf("AWS: host %s, not in the bucket's region", u.Host)
		}
	}
}

// Server errors become minio.ErrorResponse values with their HTTP status,
// which s3conf classifies and explains as it does minio-go's own.
func TestServerErrors(t *testing.T) {
	errorDoc := func(code, msg string) string {
		return `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Error><Code>` + code + `</Code><Message>` + msg +
			`</Message><BucketName>bkt</BucketName><Resource>/bkt</Resource><RequestId>R1</RequestId><HostId>H1</HostId><Region>eu-north-1</Region></Error>`
	}
	for _, tc := range []struct {
		name   string
		status int
		body   string
		code   string
		kind   s3conf.Kind
	}{
		{"no such bucket", 404, errorDoc("NoSuchBucket", "The specified bucket does not exist"), "NoSuchBucket", s3conf.NoSuchBucket},
		{"404 without a body", 404, "", "NoSuchBucket", s3conf.NoSuchBucket},
		{"access denied", 403, errorDoc("AccessDenied", "Access Denied."), "AccessDenied", s3conf.AccessDenied},
		{"403 without a body", 403, "", "AccessDenied", s3conf.AccessDenied},
		{"bad signature", 403, errorDoc("SignatureDoesNotMatch", "The request signature we calculated does not match"), "SignatureDoesNotMatch", s3conf.BadCredentials},
		{"unknown key", 403, errorDoc("InvalidAccessKeyId", "The Access Key Id you provided does not exist"), "InvalidAccessKeyId", s3conf.BadCredentials},
		{"slow down", 503, errorDoc("SlowDown", "Please reduce your request rate."), "SlowDown", s3conf.Other},
		{"a proxy's HTML", 502, "<html><body>Bad Gateway</body></html>", "502 Bad Gateway", s3conf.Other},
		{"an error body past the limit", 503, "<html>" + strings.Repeat("x", maxErrorBody) + "</html>", "503 Service Unavailable", s3conf.Other},
		{"an error with status 200", 200, errorDoc("InternalError", "We encountered an internal error."), "InternalError", s3conf.Other},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, c := newFake(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Server", "FakeS3")
				w.WriteHeader(tc.status)
				_, _ = io.WriteString(w, tc.body)
			})
			err := c.ListPage(context.Background(), Query{Bucket: "bkt"}, &Page{})
			var e minio.ErrorResponse
			if !errors.As(err, &e) || e.Code != tc.code || e.StatusCode != tc.status || e.Server != "FakeS3" {
				t.Fatalf("%T %+v", err, err)
			}
			if tc.body != "" && strings.HasPrefix(tc.body, "<?xml") && (e.RequestID != "R1" || e.Region != "eu-north-1" || e.Message == "") {
				t.Fatalf("fields lost: %+v", e)
			}
			if k := s3conf.Classify(err); k != tc.kind {
				t.Fatalf("kind %v, want %v", k, tc.kind)
			}
			msg := s3conf.Explain(err, "list s3://bkt/").Error()
			if !strings.HasPrefix(msg, "list s3://bkt/: ") || strings.Contains(msg, "\n") || tc.status == 502 && msg != "list s3://bkt/: 502 Bad Gateway" {
				t.Fatalf("explained: %q", msg)
			}
			t.Log(msg)
		})
	}
}

// A page cut short by the connection, or not XML, fails the request.
func TestBrokenBodies(t *testing.T) {
	full := page(`<IsTruncated>false</IsTruncated>`, keyEntry("a"), keyEntry("b"))
	for name, serve := range map[string]func(w http.ResponseWriter){
		"connection closed mid-body": func(w http.ResponseWriter) {
			w.Header().Set("Content-Length", fmt.Sprint(len(full)))
			_, _ = w.Write(full[:len(full)/2])
			panic(http.ErrAbortHandler)
		},
		"page cut at a tag boundary": func(w http.ResponseWriter) {
			_, _ = w.Write(full[:strings.Index(string(full), "<Contents>")])
		},
		"gzip junk": func(w http.ResponseWriter) { _, _ = w.Write([]byte{0x1f, 0x8b, 8, 0, 0, 0}) },
	} {
		_, c := newFake(t, func(w http.ResponseWriter, _ *http.Request) { serve(w) })
		var p Page
		if err := c.ListPage(context.Background(), Query{Bucket: "bkt"}, &p); err == nil {
			t.Errorf("%s: no error, %d objects", name, len(p.Objects))
		}
	}
}

// No error shows the secret key or the session token, nor the signature.
func TestNoSecretInErrors(t *testing.T) {
	_, c := newFake(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(403)
		_, _ = io.WriteString(w, `<Error><Code>SignatureDoesNotMatch</Code><Message>m</Message></Error>`)
	})
	refused, err := New(testConfig("http://127.0.0.1:1"), 4)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var errs []error
	for _, cl := range []*Client{c, refused} {
		errs = append(errs, cl.ListPage(context.Background(), Query{Bucket: "bkt", Prefix: "p/"}, &Page{}),
			cl.VersionsPage(context.Background(), VersionsQuery{Bucket: "bkt"}, &Page{}),
			cl.ListPage(ctx, Query{Bucket: "bkt"}, &Page{}))
	}
	errs = append(errs, c.ListPage(context.Background(), Query{Bucket: "not a bucket!"}, &Page{}))
	for _, err := range errs {
		if err == nil {
			t.Fatal("no error")
		}
		t.Log(s3conf.Explain(err, "list"))
		for _, msg := range []string{err.Error(), s3conf.Explain(err, "list").Error(), fmt.Sprintf("%+v", err)} {
			if strings.Contains(msg, testSecret) || strings.Contains(msg, testToken) || strings.Contains(msg, "Signature=") ||
				strings.Contains(msg, "X-Amz-") {
				t.Fatalf("secret in %q", msg)
			}
		}
	}
	if !errors.Is(errs[2], context.Canceled) {
		t.Fatalf("cancelled: %v", errs[2])
	}
}
