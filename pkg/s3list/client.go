// Package s3list lists S3 buckets with little CPU: ListObjectsV2 and
// ListObjectVersions requests signed by minio-go's own signer, addressed
// and authenticated exactly as the minio-go client of s3conf.NewMinio
// would (same credential chain, same path-style or virtual-host choice),
// and their pages decoded by a scanner that reads only the elements a
// listing needs, without encoding/xml's reflection (lexer.go, decode.go).
//
// Each call sends one request and never retries: the caller decides
// (mirror resumes a failed listing after the last key it received).
// Errors from the server are minio.ErrorResponse values, which
// s3conf.Classify and s3conf.Explain understand; no error holds a secret.
package s3list

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/signer"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
)

// Limits on what a response may hold: a page of 1,000 keys with user
// metadata is well under a megabyte.
const (
	maxPageBody  = 64 << 20
	maxErrorBody = 1 << 20
)

// emptySHA256 is the payload hash of a request without a body.
const emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

const userAgent = "srbackup-s3list"

// Client lists buckets of one endpoint. It is safe for concurrent use.
type Client struct {
	creds  *minio.Client // credentials, as s3conf.NewMinio sets them up
	addr   *minio.Client // the same, with placeholder keys: only makes URLs
	http   *http.Client
	region string
	bases  sync.Map  // bucket name → *url.URL of the bucket (scheme, host, path)
	pool   sync.Pool // *decoder
}

// New returns a client for the endpoint of cfg, with its own transport
// (s3conf's, up to maxConns connections).
func New(cfg s3conf.Config, maxConns int) (*Client, error) {
	tr, err := cfg.Transport(maxConns)
	if err != nil {
		return nil, err
	}
	return NewWith(cfg, tr)
}

// NewWith returns a client for the endpoint of cfg that sends its requests
// over rt. It signs them with the credentials of s3conf.NewMinio (static
// keys, or the AWS credential chain) and addresses buckets as that
// minio-go client does.
func NewWith(cfg s3conf.Config, rt http.RoundTripper) (*Client, error) {
	creds, err := s3conf.NewMinio(cfg, 1)
	if err != nil {
		return nil, err
	}
	// minio-go presigns no URL without credentials, and where a bucket is
	// does not depend on them.
	placeholder := cfg
	placeholder.AccessKey, placeholder.SecretKey, placeholder.SessionToken = "placeholder", "placeholder", ""
	addr, err := s3conf.NewMinio(placeholder, 1)
	if err != nil {
		return nil, err
	}
	return &Client{creds: creds, addr: addr, http: &http.Client{Transport: rt}, region: cfg.Region}, nil
}

// base returns the URL of a bucket, as minio-go addresses it: it decides
// path-style or virtual-host and the AWS regional host name. The URL is
// made once per bucket by presigning a bucket request (with placeholder
// keys) and keeping only scheme, host and path.
func (c *Client) base(ctx context.Context, bucket string) (*url.URL, error) {
	if u, ok := c.bases.Load(bucket); ok {
		return u.(*url.URL), nil
	}
	u, err := c.addr.Presign(ctx, http.MethodGet, bucket, "", time.Minute, nil)
	if err != nil {
		return nil, err
	}
	b := &url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path}
	c.bases.Store(bucket, b)
	return b, nil
}

// get sends a signed GET for the bucket with the query and decodes the
// answer, a document with the given root element, into p.
func (c *Client) get(ctx context.Context, bucket string, query url.Values, root string, p *Page) error {
	base, err := c.base(ctx, bucket)
	if err != nil {
		return err
	}
	u := *base
	u.RawQuery = query.Encode()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	req.Header.Set("User-Agent", userAgent)
	req.Header.Set("X-Amz-Content-Sha256", emptySHA256)
	creds, err := c.creds.GetCreds()
	if err != nil {
		return fmt.Errorf("no usable credentials: %w", err)
	}
	req = signer.SignV4(*req, creds.AccessKeyID, creds.SecretAccessKey, creds.SessionToken, c.region)
	resp, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	d, _ := c.pool.Get().(*decoder)
	if d == nil {
		d = &decoder{}
	}
	defer c.pool.Put(d)
	limit := int64(maxPageBody)
	if resp.StatusCode != http.StatusOK {
		limit = maxErrorBody
	}
	body, err := readBody(resp, d.body[:0], limit)
	d.body = body[:0]
	if resp.StatusCode != http.StatusOK {
		return d.httpError(resp, body, bucket) // from what could be read: the status says enough
	}
	if err != nil {
		return err
	}
	err = d.page(body, root, p)
	var er errorResponse
	switch {
	case errors.As(err, &er):
		er.StatusCode, er.Server = resp.StatusCode, resp.Header.Get("Server")
		return er.ErrorResponse
	case err != nil:
		return fmt.Errorf("unreadable list page (%d bytes): %w", len(body), err)
	}
	return nil
}

// readBody reads a response body into buf (grown as needed), up to limit
// bytes.
func readBody(resp *http.Response, buf []byte, limit int64) ([]byte, error) {
	if n := resp.ContentLength; n > 0 && n <= limit && int64(cap(buf)) < n+1 {
		buf = make([]byte, 0, n+1) // +1: the read that sees the end needs room
	}
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := resp.Body.Read(buf[len(buf):cap(buf)])
		buf = buf[:len(buf)+n]
		if int64(len(buf)) > limit {
			return buf, fmt.Errorf("list response larger than %d bytes: refused", limit)
		}
		if err == io.EOF {
			return buf, nil
		}
		if err != nil {
			return buf, fmt.Errorf("reading the list response: %w", err)
		}
	}
}

// httpError turns a response other than 200 into a minio.ErrorResponse,
// from its <Error> document when it has one, else from its status as
// minio-go does, so that s3conf classifies both SDKs' errors alike.
func (d *decoder) httpError(resp *http.Response, body []byte, bucket string) error {
	e := minio.ErrorResponse{}
	name, err := d.root(body)
	if err == nil && string(name) == rootError {
		err = d.errorFields(&e)
	}
	if err != nil || string(name) != rootError || e.Code == "" {
		e = minio.ErrorResponse{BucketName: bucket}
		switch resp.StatusCode {
		case http.StatusNotFound:
			e.Code, e.Message = "NoSuchBucket", "The specified bucket does not exist."
		case http.StatusForbidden:
			e.Code, e.Message = "AccessDenied", "Access Denied."
		default:
			e.Code = resp.Status // "502 Bad Gateway", as minio-go has it
		}
	}
	e.StatusCode, e.Server = resp.StatusCode, resp.Header.Get("Server")
	if e.Region == "" {
		e.Region = resp.Header.Get("X-Amz-Bucket-Region")
	}
	return e
}
