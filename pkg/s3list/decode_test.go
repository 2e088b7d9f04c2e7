package s3list

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/url"
	"strings"
	"testing"
	"time"
)

// page builds a ListBucketResult body around raw Contents elements.
func page(extra string, contents ...string) []byte {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n" +
		`<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><MaxKeys>1000</MaxKeys>`)
	b.WriteString(extra)
	for _, c := range contents {
		b.WriteString("<Contents>" + c + "</Contents>")
	}
	b.WriteString("</ListBucketResult>")
	return []byte(b.String())
}

func keyEntry(rawKey string) string {
	return `<Key>` + rawKey + `</Key><LastModified>2026-11-01T00:00:00.000Z</LastModified><ETag>&#34;0cc175b9c0f1b6a831c399e269772661&#34;</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass>`
}

func decodeList(body []byte) (*Page, error) {
	var d decoder
	p := &Page{}
	return p, d.page(body, rootList, p)
}

// Keys that XML or URL encoding must carry unchanged: entities, newlines
// and tabs, quotes, UTF-8, spaces, plus signs and percent signs.
var trickyKeys = []string{
	"a&b", "<lt>&gt;", "line\nbreak", "cr\rkey", "crlf\r\nkey", `quo"te`, "apos'", "tab\there",
	"ütf8/ключ/日本語/😀", "sp ace", " lead and trail ", "plus+sign", "per%25cent%", "100% +1",
	"]]>", "x/y/z.dat", "\u00a0nbsp", "a\u2028b",
}

// Tricky keys come back unchanged whichever way the server escapes them:
// encoding/xml's escaping (as MinIO and listsim write), the other entity
// forms (decimal, named), CDATA sections, and URL encoding.
func TestDecodeTrickyKeys(t *testing.T) {
	escapers := map[string]func(string) string{
		"encoding/xml": func(k string) string {
			var b bytes.Buffer
			_ = xml.EscapeText(&b, []byte(k))
			return b.String()
		},
		"decimal and named entities": func(k string) string {
			return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&apos;",
				"\n", "&#10;", "\r", "&#13;", "\t", "&#9;").Replace(k)
		},
		"CDATA": func(k string) string {
			k = strings.ReplaceAll(k, "]]>", "]]]]><![CDATA[>")
			k = strings.ReplaceAll(k, "\r", "]]>&#13;<![CDATA[") // a CR in CDATA would become LF
			return "<![CDATA[" + k + "]]>"
		},
	}
	for name, esc := range escapers {
		var entries []string
		for _, k := range trickyKeys {
			entries = append(entries, keyEntry(esc(k)))
		}
		p, err := decodeList(page("", entries...))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		for i, k := range trickyKeys {
			if got := p.Objects[i].Key; got != k {
				t.Errorf("%s: key %q, want %q", name, got, k)
			}
		}
	}
	var entries []string
	for _, k := range trickyKeys {
		entries = append(entries, keyEntry(xmlEscape(url.QueryEscape(k))))
	}
	p, err := decodeList(page("<EncodingType>url</EncodingType>", entries...))
	if err != nil {
		t.Fatal(err)
	}
	for i, k := range trickyKeys {
		if got := p.Objects[i].Key; got != k {
			t.Errorf("url: key %q, want %q", got, k)
		}
	}
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}

// XML's end-of-line handling: a literal CR LF or CR in text is a LF (an
// escaped CR stays), as encoding/xml reads it.
func TestDecodeLineEnds(t *testing.T) {
	p, err := decodeList(page("", keyEntry("a\r\nb"), keyEntry("c\rd"), keyEntry("e&#13;\nf")))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"a\nb", "c\nd", "e\r\nf"} {
		if p.Objects[i].Key != want {
			t.Errorf("key %q, want %q", p.Objects[i].Key, want)
		}
	}
}

// Every field of a page, against the values written.
func TestDecodeFields(t *testing.T) {
	body := page(`<IsTruncated>true</IsTruncated><NextContinuationToken>tok&amp;1</NextContinuationToken>`+
		`<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes><CommonPrefixes><Prefix>q&lt;/</Prefix></CommonPrefixes>`,
		`<Key>k1</Key><LastModified>2026-11-01T10:20:30.123Z</LastModified><ETag>"abc-2"</ETag><Size>123456789012</Size>`+
			`<Owner><ID>x</ID><DisplayName>y</DisplayName></Owner><UserMetadata><content-type>text/plain</content-type>`+
			`<X-Amz-Meta-Srb-Source-Etag>&#34;d41d8cd98f00b204e9800998ecf8427e&#34;</X-Amz-Meta-Srb-Source-Etag></UserMetadata>`+
			`<Internal><K>1</K><M>0</M></Internal>`,
		`<Key>k2</Key><LastModified>2026-02-28T23:59:59+01:00</LastModified><ETag>&quot;E&quot;</ETag><Size>0</Size><UserMetadata/>`,
		`<Key>k3</Key><Size> 7 </Size><LastModified>2026-03-31T00:00:00.5Z</LastModified>`)
	p, err := decodeList(body)
	if err != nil {
		t.Fatal(err)
	}
	if !p.Truncated || p.NextContinuationToken != "tok&1" || len(p.CommonPrefixes) != 2 || p.CommonPrefixes[1] != "q</" {
		t.Fatalf("page fields: %+v", p)
	}
	o := p.Objects[0]
	want := time.Date(2026, 11, 1, 10, 20, 30, 123e6, time.UTC)
	if o.Key != "k1" || o.ETag != "abc-2" || o.Size != 123456789012 || !o.LastModified.Equal(want) || !o.HasMetadata || len(o.Metadata) != 2 {
		t.Fatalf("object 1: %+v", o)
	}
	if v, ok := o.Meta("srb-source-etag"); !ok || v != `"d41d8cd98f00b204e9800998ecf8427e"` {
		t.Fatalf("Meta: %q %v", v, ok)
	}
	if v, ok := o.Meta("X-AMZ-META-CONTENT-TYPE"); !ok || v != "text/plain" {
		t.Fatalf("Meta: %q %v", v, ok)
	}
	o = p.Objects[1]
	if o.ETag != "E" || o.Size != 0 || !o.LastModified.Equal(time.Date(2026, 2, 28, 22, 59, 59, 0, time.UTC)) || !o.HasMetadata || len(o.Metadata) != 0 {
		t.Fatalf("object 2: %+v", o)
	}
	o = p.Objects[2]
	if o.Size != 7 || o.HasMetadata || !o.LastModified.Equal(time.Date(2026, 3, 31, 0, 0, 0, 5e8, time.UTC)) {
		t.Fatalf("object 3: %+v", o)
	}
	if d := refCompare(t, body, rootList, p); d != "" {
		t.Fatal(d)
	}
}

// refCompare decodes body with the reference and describes any difference.
func refCompare(t *testing.T, body []byte, root string, got *Page) string {
	t.Helper()
	want, err := refDecode(body, root)
	if err != nil {
		return fmt.Sprintf("reference: %v", err)
	}
	return samePage(got, want)
}

// A versions page: versions and delete markers in the server's order.
func TestDecodeVersions(t *testing.T) {
	body := []byte(`<?xml version="1.0" encoding="UTF-8"?><ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">` +
		`<Name>b</Name><IsTruncated>true</IsTruncated><NextKeyMarker>k%2B1</NextKeyMarker><NextVersionIdMarker>v+2</NextVersionIdMarker>` +
		`<DeleteMarker><Key>k%2B1</Key><VersionId>v3</VersionId><IsLatest>true</IsLatest><LastModified>2026-11-01T00:00:02.000Z</LastModified></DeleteMarker>` +
		`<Version><Key>k%2B1</Key><VersionId>v+2</VersionId><IsLatest>false</IsLatest><LastModified>2026-11-01T00:00:01.000Z</LastModified><ETag>"e2"</ETag><Size>2</Size></Version>` +
		`<EncodingType>url</EncodingType></ListVersionsResult>`)
	var d decoder
	var p Page
	if err := d.page(body, rootVersions, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Objects) != 2 || !p.Objects[0].DeleteMarker || p.Objects[0].Key != "k+1" || p.Objects[0].VersionID != "v3" || !p.Objects[0].IsLatest ||
		p.Objects[1].DeleteMarker || p.Objects[1].VersionID != "v+2" || p.Objects[1].Size != 2 || p.Objects[1].ETag != "e2" {
		t.Fatalf("%+v", p.Objects)
	}
	if p.NextKeyMarker != "k+1" || p.NextVersionIDMarker != "v+2" || !p.Truncated {
		t.Fatalf("markers %q %q", p.NextKeyMarker, p.NextVersionIDMarker)
	}
	if diff := refCompare(t, body, rootVersions, &p); diff != "" {
		t.Fatal(diff)
	}
	if err := d.page(body, rootList, &p); err == nil || !strings.Contains(err.Error(), "not <ListBucketResult>") {
		t.Fatalf("a versions page read as a listing: %v", err)
	}
}

// A page is reused: nothing of the previous page stays in it.
func TestDecodeReusesPage(t *testing.T) {
	var d decoder
	var p Page
	first := page(`<CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes><IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken>`,
		`<Key>a</Key><UserMetadata><m>1</m></UserMetadata>`, `<Key>b</Key><Size>5</Size>`)
	if err := d.page(first, rootList, &p); err != nil {
		t.Fatal(err)
	}
	if err := d.page(page("", `<Key>c</Key><UserMetadata><n>2</n></UserMetadata>`), rootList, &p); err != nil {
		t.Fatal(err)
	}
	if len(p.Objects) != 1 || p.Objects[0].Key != "c" || p.Objects[0].Size != 0 || p.Truncated || p.NextContinuationToken != "" ||
		len(p.CommonPrefixes) != 0 || len(p.Objects[0].Metadata) != 1 || p.Objects[0].Metadata[0] != (Meta{"n", "2"}) {
		t.Fatalf("%+v", p)
	}
}

// Malformed or truncated pages are errors, never a shorter listing.
func TestDecodeMalformed(t *testing.T) {
	ok := keyEntry("k")
	for name, body := range map[string][]byte{
		"empty":                  nil,
		"blank":                  []byte(" \n"),
		"not XML":                []byte("<html><body>502 Bad Gateway</body></html>"),
		"plain text":             []byte("Internal Server Error"),
		"other root":             []byte(`<ListAllMyBucketsResult></ListAllMyBucketsResult>`),
		"misspelled root":        []byte(`<ListBucketResults><Contents><Key>k</Key></Contents></ListBucketResults>`),
		"root not closed":        page("", ok)[:len(page("", ok))-len("</ListBucketResult>")],
		"element not closed":     []byte(`<ListBucketResult><Contents><Key>k</Key></ListBucketResult>`),
		"mismatched end":         []byte(`<ListBucketResult><Contents><Key>k</Size></Contents></ListBucketResult>`),
		"mismatched in skipped":  page("", `<Key>k</Key><Owner><ID>x</DisplayName></Owner>`),
		"two roots":              append(page("", ok), page("", ok)...),
		"text after root":        append(page("", ok), "junk"...),
		"text before root":       append([]byte("junk"), page("", ok)...),
		"unknown entity":         page("", keyEntry("a&nbsp;b")),
		"bare ampersand":         page("", keyEntry("a & b")),
		"entity without ;":       page("", keyEntry("a&amp b")),
		"NUL reference":          page("", keyEntry("a&#0;b")),
		"control reference":      page("", keyEntry("a&#1;b")),
		"surrogate reference":    page("", keyEntry("a&#xD800;b")),
		"huge reference":         page("", keyEntry("a&#x110000;b")),
		"bad hex reference":      page("", keyEntry("a&#xZZ;b")),
		"literal control char":   page("", keyEntry("a\x01b")),
		"invalid UTF-8":          page("", keyEntry("a\xffb")),
		"U+FFFE":                 page("", keyEntry("a\uFFFEb")),
		"element in a key":       page("", `<Key>a<b/>c</Key>`),
		"no key":                 page("", `<Size>1</Size>`),
		"empty key":              page("", `<Key></Key>`),
		"negative size":          page("", `<Key>k</Key><Size>-1</Size>`),
		"size not a number":      page("", `<Key>k</Key><Size>1e3</Size>`),
		"size too large":         page("", `<Key>k</Key><Size>99999999999999999999</Size>`),
		"bad time":               page("", `<Key>k</Key><LastModified>yesterday</LastModified>`),
		"February 30":            page("", `<Key>k</Key><LastModified>2026-02-30T00:00:00.000Z</LastModified>`),
		"bad bool":               page(`<IsTruncated>yes</IsTruncated>`, ok),
		"bad URL encoding":       page(`<EncodingType>url</EncodingType>`, keyEntry("a%zz")),
		"DOCTYPE":                append([]byte(`<!DOCTYPE x [<!ENTITY e "k">]>`), page("", keyEntry("&e;"))...),
		"unterminated comment":   []byte(`<ListBucketResult><!-- x </ListBucketResult>`),
		"unterminated CDATA":     []byte(`<ListBucketResult><Contents><Key><![CDATA[k</Key></Contents></ListBucketResult>`),
		"unterminated PI":        []byte(`<?xml version="1.0"`),
		"unquoted attribute":     []byte(`<ListBucketResult xmlns=x></ListBucketResult>`),
		"attribute without '='":  []byte(`<ListBucketResult xmlns></ListBucketResult>`),
		"unterminated attribute": []byte(`<ListBucketResult xmlns="x></ListBucketResult>`),
		"tag without a name":     []byte(`<ListBucketResult>< ></ListBucketResult>`),
		"end tag first":          []byte(`</ListBucketResult>`),
		"stray slash":            []byte(`<ListBucketResult / ></ListBucketResult>`),
		"nested too deep":        page("", `<Key>k</Key>`+strings.Repeat("<a>", maxDepth)+strings.Repeat("</a>", maxDepth)),
	} {
		if p, err := decodeList(body); err == nil {
			t.Errorf("%s: no error; %d objects", name, len(p.Objects))
		} else {
			t.Logf("%s: %v", name, err)
		}
	}
}

// Cut anywhere, a page is an error: the end of a listing is never guessed.
func TestDecodeEveryTruncation(t *testing.T) {
	body := page(`<IsTruncated>false</IsTruncated><CommonPrefixes><Prefix>p/</Prefix></CommonPrefixes>`,
		keyEntry("a&amp;b"), `<Key>c</Key><UserMetadata><m>v</m></UserMetadata><!-- c --><Owner><ID>i</ID></Owner>`,
		keyEntry("<![CDATA[d]]>"))
	if _, err := decodeList(body); err != nil {
		t.Fatal(err)
	}
	for i := range len(body) {
		if p, err := decodeList(body[:i]); err == nil {
			t.Fatalf("cut at %d of %d: no error, %d objects", i, len(body), len(p.Objects))
		}
	}
}

// The scanner agrees with encoding/xml: whatever it accepts, encoding/xml
// reads the same way (it may refuse more: it is the stricter of the two
// on values such as a negative size).
func FuzzDecode(f *testing.F) {
	f.Add(page("<IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken>", keyEntry("a&amp;b&#10;c")))
	f.Add(page("<EncodingType>url</EncodingType><CommonPrefixes><Prefix>p%2B/</Prefix></CommonPrefixes>", keyEntry("k+1%20")))
	f.Add(page("", `<Key>k</Key><UserMetadata><a>1</a><b>&lt;</b></UserMetadata><Internal><K>1</K></Internal>`))
	f.Add(page("", keyEntry("<![CDATA[x]]>y<!--z-->")))
	for _, name := range []string{"minio-delimiter.xml", "minio-versions.xml"} {
		f.Add(readTestdata(f, name))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, root := range []string{rootList, rootVersions} {
			var d decoder
			got := &Page{}
			if err := d.page(body, root, got); err != nil {
				continue
			}
			want, err := refDecode(body, root)
			if err != nil {
				t.Fatalf("accepted what encoding/xml refuses (%v): %q", err, body)
			}
			if d := samePage(got, want); d != "" {
				t.Fatalf("%s\n%q", d, body)
			}
		}
	})
}
