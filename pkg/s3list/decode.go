package s3list

import (
	"bytes"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// Root elements of the documents read.
const (
	rootList     = "ListBucketResult"   // ListObjectsV2
	rootVersions = "ListVersionsResult" // ListObjectVersions
	rootError    = "Error"
)

// decoder turns response bodies into pages. It holds reusable buffers and
// is used by one request at a time (the client pools them).
type decoder struct {
	lexer
	body []byte // the response body, reused
	// names interns user-metadata names, which repeat on every object.
	names map[string]string
}

// maxNames bounds the interned metadata names.
const maxNames = 256

// errorResponse carries an S3 error document found where a listing was
// expected (some servers answer 200 with an <Error> body).
type errorResponse struct{ minio.ErrorResponse }

// page decodes a listing body into p: the root element must be root. An
// <Error> document is returned as an errorResponse.
func (d *decoder) page(body []byte, root string, p *Page) error {
	p.reset()
	name, err := d.root(body)
	if err != nil {
		return err
	}
	if string(name) == rootError {
		var e minio.ErrorResponse
		if err := d.errorFields(&e); err != nil {
			return err
		}
		return errorResponse{e}
	}
	if string(name) != root {
		return d.errorf("the document is <%s>, not <%s>", name, root)
	}
	encoding := ""
	fields := [...]field{{"NextContinuationToken", &p.NextContinuationToken}, {"NextKeyMarker", &p.NextKeyMarker},
		{"NextVersionIdMarker", &p.NextVersionIDMarker}, {"EncodingType", &encoding}}
	err = d.children(func(name []byte) error {
		var err error
		switch string(name) {
		case "Contents", "Version":
			err = d.object(p, false)
		case "DeleteMarker":
			err = d.object(p, true)
		case "CommonPrefixes":
			var prefix string
			err = d.children(func(name []byte) error {
				if string(name) != "Prefix" {
					return d.skip()
				}
				var err error
				prefix, err = d.str()
				return err
			})
			if err == nil && prefix == "" {
				err = d.errorf("a common prefix without a name")
			}
			p.CommonPrefixes = append(p.CommonPrefixes, prefix)
		case "IsTruncated":
			p.Truncated, err = d.boolean()
		default:
			err = d.field(name, fields[:])
		}
		return err
	})
	if err != nil {
		return err
	}
	if err := d.end(); err != nil {
		return err
	}
	if strings.EqualFold(encoding, "url") {
		return p.urlDecode()
	}
	return nil
}

// root reads up to the root element's start tag and returns its name.
func (d *decoder) root(body []byte) ([]byte, error) {
	body = bytes.TrimPrefix(body, []byte("\xef\xbb\xbf")) // a UTF-8 byte order mark
	d.reset(body)
	switch kind, err := d.outside(); {
	case err != nil:
		return nil, err
	case kind == tokStart:
		return d.name, nil
	case len(body) == 0:
		return nil, errors.New("empty response body")
	case kind == tokEOF:
		return nil, d.errorf("no root element")
	default:
		return nil, d.errorf("end tag before the root element")
	}
}

// end checks that nothing but blanks, comments and processing
// instructions follows the root element.
func (d *decoder) end() error {
	kind, err := d.outside()
	if err == nil && kind != tokEOF {
		err = d.errorf("element after the root element")
	}
	return err
}

// outside reads past blanks, comments and processing instructions outside
// the root element, and returns the next token's kind.
func (d *decoder) outside() (int, error) {
	for {
		kind, err := d.next()
		if err != nil || kind != tokText {
			return kind, err
		}
		if len(bytes.TrimLeft(d.text, " \t\r\n")) > 0 {
			return 0, d.errorf("text outside the root element")
		}
	}
}

// object reads one Contents, Version or DeleteMarker element into a new
// entry of p.
func (d *decoder) object(p *Page, deleteMarker bool) error {
	p.Objects = append(p.Objects, Object{})
	o := &p.Objects[len(p.Objects)-1]
	o.DeleteMarker = deleteMarker
	seen := false
	err := d.children(func(name []byte) error {
		var err error
		switch string(name) {
		case "Key":
			o.Key, err = d.str()
			seen = true
		case "Size":
			o.Size, err = d.size()
		case "ETag":
			var v []byte
			if v, err = d.content(); err == nil {
				o.ETag = string(bytes.Trim(v, `"`))
			}
		case "LastModified":
			o.LastModified, err = d.time()
		case "VersionId":
			o.VersionID, err = d.str()
		case "IsLatest":
			o.IsLatest, err = d.boolean()
		case "UserMetadata":
			err = d.metadata(p, o)
		default:
			err = d.skip()
		}
		return err
	})
	if err == nil && (!seen || o.Key == "") {
		err = d.errorf("a listed object without a key")
	}
	return err
}

// metadata reads MinIO's UserMetadata extension: one element per entry,
// named after it. The entries go to p's shared backing array.
func (d *decoder) metadata(p *Page, o *Object) error {
	if o.HasMetadata {
		return d.errorf("two <UserMetadata> in one entry")
	}
	o.HasMetadata = true
	first := len(p.metas)
	err := d.children(func(name []byte) error {
		n, ok := d.names[string(name)]
		if !ok {
			n = string(name)
			if d.names == nil {
				d.names = make(map[string]string)
			}
			if len(d.names) < maxNames {
				d.names[n] = n
			}
		}
		v, err := d.str()
		p.metas = append(p.metas, Meta{Name: n, Value: v})
		return err
	})
	// Full slice expression: appending to one object's metadata never
	// writes over the next object's.
	o.Metadata = p.metas[first:len(p.metas):len(p.metas)]
	return err
}

// errorFields reads an S3 <Error> document's fields.
func (d *decoder) errorFields(e *minio.ErrorResponse) error {
	fields := [...]field{{"Code", &e.Code}, {"Message", &e.Message}, {"BucketName", &e.BucketName}, {"Key", &e.Key},
		{"Resource", &e.Resource}, {"RequestId", &e.RequestID}, {"HostId", &e.HostID}, {"Region", &e.Region}}
	if err := d.children(func(name []byte) error { return d.field(name, fields[:]) }); err != nil {
		return err
	}
	return d.end()
}

// field is a text element read into a string.
type field struct {
	name string
	to   *string
}

// field reads the element just opened into its field, or skips it.
func (d *decoder) field(name []byte, fields []field) error {
	for _, f := range fields {
		if string(name) == f.name {
			var err error
			*f.to, err = d.str()
			return err
		}
	}
	return d.skip()
}

func (d *decoder) str() (string, error) {
	v, err := d.content()
	return string(v), err
}

func (d *decoder) boolean() (bool, error) {
	v, err := d.content()
	if err != nil {
		return false, err
	}
	switch string(bytes.TrimSpace(v)) {
	case "true", "True", "TRUE", "1", "t", "T":
		return true, nil
	case "false", "False", "FALSE", "0", "f", "F":
		return false, nil
	}
	return false, d.errorf("<%s> is not a boolean: %q", d.name, clip(v))
}

// size reads a non-negative decimal number (empty is 0, as encoding/xml
// takes it).
func (d *decoder) size() (int64, error) {
	v, err := d.content()
	if err != nil {
		return 0, err
	}
	v = bytes.TrimSpace(v)
	if len(v) > 0 && v[0] == '+' {
		v = v[1:]
	}
	var n int64
	for i, c := range v {
		if c < '0' || c > '9' || i >= 18 {
			return 0, d.errorf("<%s> is not a size: %q", d.name, clip(v))
		}
		n = n*10 + int64(c-'0')
	}
	return n, nil
}

// time reads an RFC 3339 time; S3's usual form (UTC, milliseconds) is
// parsed without time.Parse. Empty is the zero time.
func (d *decoder) time() (time.Time, error) {
	v, err := d.content()
	if err != nil {
		return time.Time{}, err
	}
	v = bytes.TrimSpace(v)
	if len(v) == 0 {
		return time.Time{}, nil
	}
	if t, ok := fastTime(v); ok {
		return t, nil
	}
	t, err := time.Parse(time.RFC3339Nano, string(v))
	if err != nil {
		return time.Time{}, d.errorf("<%s> is not a time: %q", d.name, clip(v))
	}
	return t, nil
}

// fastTime parses YYYY-MM-DDTHH:MM:SS[.fraction]Z. It declines anything
// else, and days past the 28th (time.Parse checks the month's length).
func fastTime(b []byte) (time.Time, bool) {
	if len(b) < 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[len(b)-1] != 'Z' {
		return time.Time{}, false
	}
	num := func(s []byte) int {
		n := 0
		for _, c := range s {
			if c < '0' || c > '9' {
				return -1
			}
			n = n*10 + int(c-'0')
		}
		return n
	}
	year, month, day := num(b[0:4]), num(b[5:7]), num(b[8:10])
	hour, minute, sec := num(b[11:13]), num(b[14:16]), num(b[17:19])
	if year < 0 || month < 1 || month > 12 || day < 1 || day > 28 || hour < 0 || hour > 23 ||
		minute < 0 || minute > 59 || sec < 0 || sec > 59 {
		return time.Time{}, false
	}
	nsec := 0
	if frac := b[19 : len(b)-1]; len(frac) > 0 {
		if frac[0] != '.' || len(frac) < 2 || len(frac) > 10 {
			return time.Time{}, false
		}
		if nsec = num(frac[1:]); nsec < 0 {
			return time.Time{}, false
		}
		for i := len(frac) - 1; i < 9; i++ {
			nsec *= 10
		}
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), true
}

// clip shortens a value quoted in an error.
func clip(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// urlDecode undoes encoding-type=url on the fields S3 encodes: keys,
// common prefixes and the next key marker (not the continuation token
// nor version ids, which are opaque).
func (p *Page) urlDecode() error {
	dec := func(s *string) error {
		if !strings.ContainsAny(*s, "%+") {
			return nil
		}
		v, err := url.QueryUnescape(*s)
		if err != nil {
			return fmt.Errorf("malformed URL-encoded name: %w", err)
		}
		*s = v
		return nil
	}
	for i := range p.Objects {
		if err := dec(&p.Objects[i].Key); err != nil {
			return err
		}
	}
	for i := range p.CommonPrefixes {
		if err := dec(&p.CommonPrefixes[i]); err != nil {
			return err
		}
	}
	return dec(&p.NextKeyMarker)
}
