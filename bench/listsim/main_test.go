package main

import (
	"bytes"
	"encoding/xml"
	"net/http/httptest"
	"net/url"
	"testing"
)

// listResult is S3's ListBucketResult as encoding/xml reads and writes it:
// the reference of the hand-written pages.
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
	Contents              []struct {
		Key          string
		LastModified string
		ETag         string
		Size         int64
		StorageClass string
	}
	CommonPrefixes []struct{ Prefix string }
}

// The hand-written listing pages are byte for byte what encoding/xml
// writes for the same result: V1 and V2, with a delimiter, truncated or
// not, and text that needs escaping.
func TestAppendXMLIsEncodingXML(t *testing.T) {
	s := &server{keys: keySpace(30000)}
	s.pool.New = func() any { b := make([]byte, 0, 1024); return &b }
	for _, q := range []string{
		"list-type=2", "list-type=2&max-keys=7&start-after=" + url.QueryEscape(s.keys[100]),
		"list-type=2&delimiter=/&prefix=" + url.QueryEscape(s.keys[0][:37]), "list-type=2&continuation-token=" + url.QueryEscape(s.keys[2999]),
		"prefix=x", "marker=" + url.QueryEscape(s.keys[5]) + "&max-keys=3", "delimiter=/",
	} {
		v, _ := url.ParseQuery(q)
		rec := httptest.NewRecorder()
		s.list(rec, "bkt", v)
		var want bytes.Buffer
		want.WriteString(xml.Header)
		var res listResult
		if err := xml.Unmarshal(rec.Body.Bytes(), &res); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
		if err := xml.NewEncoder(&want).Encode(res); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(rec.Body.Bytes(), want.Bytes()) {
			t.Fatalf("%s: the page differs from encoding/xml's:\n%.600s\n%.600s", q, rec.Body.Bytes(), want.Bytes())
		}
	}
	odd := page{name: "b", prefix: "a&b<c>\"d'\te\n", contents: []entry{{key: "ü\x01"}}, prefixes: []string{"p&q/"}}
	var res listResult
	if err := xml.Unmarshal(odd.appendXML(nil), &res); err != nil || res.Prefix != odd.prefix || res.Contents[0].Key != "ü\uFFFD" ||
		res.CommonPrefixes[0].Prefix != "p&q/" {
		t.Fatalf("escaping: %+v %v", res, err)
	}
	var want bytes.Buffer
	_ = xml.NewEncoder(&want).Encode(res)
	if got := odd.appendXML(nil); !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("escaping:\n%s\n%s", got, want.Bytes())
	}
}

// BenchmarkListPage is listsim's cost of one page of 1,000 keys.
//
//	go test -run '^$' -bench ListPage ./bench/listsim/
func BenchmarkListPage(b *testing.B) {
	s := &server{keys: keySpace(100000)}
	s.pool.New = func() any { b := make([]byte, 0, 256<<10); return &b }
	v, _ := url.ParseQuery("list-type=2&start-after=" + url.QueryEscape(s.keys[5000]))
	for b.Loop() {
		s.list(httptest.NewRecorder(), "bkt", v)
	}
}
