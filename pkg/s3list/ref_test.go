package s3list

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
)

// The reference: the same pages decoded with encoding/xml's reflection,
// as minio-go decodes them. Tests compare the scanner with it.

type refEntry struct {
	XMLName      xml.Name
	Key          string
	Size         int64
	ETag         string
	LastModified string
	VersionID    string `xml:"VersionId"`
	IsLatest     bool
	UserMetadata *struct {
		Items []struct {
			XMLName xml.Name
			Value   string `xml:",chardata"`
		} `xml:",any"`
	}
}

type refPage struct {
	XMLName               xml.Name
	IsTruncated           bool
	NextContinuationToken string
	NextKeyMarker         string
	NextVersionIDMarker   string `xml:"NextVersionIdMarker"`
	EncodingType          string
	CommonPrefixes        []struct{ Prefix string }
	Entries               []refEntry `xml:",any"`
}

// refDecode decodes a page with encoding/xml into the scanner's types.
func refDecode(body []byte, root string) (*Page, error) {
	var r refPage
	if err := xml.NewDecoder(bytes.NewReader(body)).Decode(&r); err != nil {
		return nil, err
	}
	if r.XMLName.Local != root {
		return nil, fmt.Errorf("root %s", r.XMLName.Local)
	}
	p := &Page{Truncated: r.IsTruncated, NextContinuationToken: r.NextContinuationToken,
		NextKeyMarker: r.NextKeyMarker, NextVersionIDMarker: r.NextVersionIDMarker}
	for _, cp := range r.CommonPrefixes {
		p.CommonPrefixes = append(p.CommonPrefixes, cp.Prefix)
	}
	for _, e := range r.Entries {
		switch e.XMLName.Local {
		case "Contents", "Version", "DeleteMarker":
		default:
			continue
		}
		o := Object{Key: e.Key, Size: e.Size, ETag: strings.Trim(e.ETag, `"`), VersionID: e.VersionID,
			IsLatest: e.IsLatest, DeleteMarker: e.XMLName.Local == "DeleteMarker"}
		if o.Key == "" {
			return nil, fmt.Errorf("entry without a key")
		}
		if s := strings.TrimSpace(e.LastModified); s != "" {
			t, err := time.Parse(time.RFC3339Nano, s)
			if err != nil {
				return nil, err
			}
			o.LastModified = t
		}
		if e.UserMetadata != nil {
			o.HasMetadata = true
			for _, m := range e.UserMetadata.Items {
				o.Metadata = append(o.Metadata, Meta{Name: m.XMLName.Local, Value: m.Value})
			}
		}
		p.Objects = append(p.Objects, o)
	}
	if strings.EqualFold(r.EncodingType, "url") {
		unescape := func(s *string) error {
			v, err := url.QueryUnescape(*s)
			*s = v
			return err
		}
		for i := range p.Objects {
			if err := unescape(&p.Objects[i].Key); err != nil {
				return nil, err
			}
		}
		for i := range p.CommonPrefixes {
			if err := unescape(&p.CommonPrefixes[i]); err != nil {
				return nil, err
			}
		}
		if err := unescape(&p.NextKeyMarker); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// samePage describes the first difference between two pages, "" if none.
func samePage(got, want *Page) string {
	switch {
	case got.Truncated != want.Truncated:
		return fmt.Sprintf("truncated %v, want %v", got.Truncated, want.Truncated)
	case got.NextContinuationToken != want.NextContinuationToken || got.NextKeyMarker != want.NextKeyMarker ||
		got.NextVersionIDMarker != want.NextVersionIDMarker:
		return fmt.Sprintf("next %q %q %q, want %q %q %q", got.NextContinuationToken, got.NextKeyMarker, got.NextVersionIDMarker,
			want.NextContinuationToken, want.NextKeyMarker, want.NextVersionIDMarker)
	case !slices.Equal(got.CommonPrefixes, want.CommonPrefixes):
		return fmt.Sprintf("prefixes %q, want %q", got.CommonPrefixes, want.CommonPrefixes)
	case len(got.Objects) != len(want.Objects):
		return fmt.Sprintf("%d objects, want %d", len(got.Objects), len(want.Objects))
	}
	for i := range got.Objects {
		if d := sameObject(&got.Objects[i], &want.Objects[i]); d != "" {
			return fmt.Sprintf("object %d: %s", i, d)
		}
	}
	return ""
}

func sameObject(g, w *Object) string {
	if g.Key != w.Key || g.Size != w.Size || g.ETag != w.ETag || !g.LastModified.Equal(w.LastModified) ||
		g.VersionID != w.VersionID || g.IsLatest != w.IsLatest || g.DeleteMarker != w.DeleteMarker ||
		g.HasMetadata != w.HasMetadata || !slices.Equal(g.Metadata, w.Metadata) {
		return fmt.Sprintf("%+v, want %+v", *g, *w)
	}
	return ""
}
