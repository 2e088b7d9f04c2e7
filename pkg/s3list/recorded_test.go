package s3list

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Pages recorded from a real MinIO and from bench/listsim (by the e2e
// tests, run with -update).
var recorded = []string{"listsim-1.xml.gz", "listsim-2.xml.gz", "listsim-3.xml.gz", "minio-page.xml",
	"minio-metadata.xml.gz", "minio-delimiter.xml", "minio-versions.xml"}

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasSuffix(name, ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

func rootOf(name string) string {
	if strings.Contains(name, "versions") {
		return rootVersions
	}
	return rootList
}

// The recorded pages decode as encoding/xml decodes them, with the values
// the servers were given.
func TestRecordedPages(t *testing.T) {
	pages := map[string]*Page{}
	for _, name := range recorded {
		body := readTestdata(t, name)
		var d decoder
		p := &Page{}
		if err := d.page(body, rootOf(name), p); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if diff := refCompare(t, body, rootOf(name), p); diff != "" {
			t.Fatalf("%s: %s", name, diff)
		}
		pages[name] = p
	}
	// listsim: three consecutive pages of 1,000 StarRocks-like keys.
	last := ""
	for _, name := range recorded[:3] {
		p := pages[name]
		if len(p.Objects) != 1000 || !p.Truncated || p.NextContinuationToken != p.Objects[999].Key || p.Objects[0].Key <= last {
			t.Fatalf("%s: %d objects, truncated %v, token %q", name, len(p.Objects), p.Truncated, p.NextContinuationToken)
		}
		for _, o := range p.Objects {
			if !strings.HasPrefix(o.Key, "1018bac0-5cd2-4b5c-9f7e-6ee7a48699d8/db") || len(o.ETag) != 32 ||
				!o.LastModified.Equal(time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)) || o.Key <= last {
				t.Fatalf("%s: %+v", name, o)
			}
			last = o.Key
		}
	}
	// MinIO, URL-encoded names: the tricky keys as uploaded.
	keys := map[string]bool{}
	for _, o := range pages["minio-metadata.xml.gz"].Objects {
		keys[o.Key] = true
	}
	for _, k := range append([]string{"ctl\x01key", "empty"}, trickyKeys...) {
		if !keys[k] {
			t.Errorf("minio-metadata.xml.gz: key %q missing", k)
		}
	}
	if p := pages["minio-page.xml"]; len(p.Objects) != 100 || !p.Truncated || p.NextContinuationToken == "" {
		t.Errorf("minio-page.xml: %d objects, truncated %v", len(p.Objects), p.Truncated)
	}
	withSource := 0
	for _, o := range pages["minio-metadata.xml.gz"].Objects {
		if v, ok := o.Meta("Srb-Source-Etag"); ok && len(v) == 32 {
			withSource++
		}
		if !o.HasMetadata {
			t.Fatalf("minio-metadata.xml.gz: %+v", o)
		}
	}
	if len(keys) != 332+len(trickyKeys) || withSource != len(trickyKeys)+48 {
		t.Errorf("minio-metadata.xml.gz: %d keys, %d with a source ETag", len(keys), withSource)
	}
	if cps := strings.Join(pages["minio-delimiter.xml"].CommonPrefixes, " "); cps != "db0/ db1/ db2/ x/ ütf8/" {
		t.Errorf("minio-delimiter.xml: prefixes %s", cps)
	}
	markers, versions := 0, map[string]int{}
	for _, o := range pages["minio-versions.xml"].Objects {
		versions[o.Key]++
		if o.DeleteMarker {
			markers++
		}
	}
	if markers != 2 || versions["k1"] != 4 || versions["new\nline"] != 3 || versions["old"] != 1 {
		t.Errorf("minio-versions.xml: %d markers, %v", markers, versions)
	}
}
