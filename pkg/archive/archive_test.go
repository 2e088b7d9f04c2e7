package archive

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type member struct {
	name, link string
	typ        byte
	body       string
	mode       int64
}

func file(name, body string) member {
	return member{name: name, typ: tar.TypeReg, body: body, mode: 0o644}
}
func dir(name string) member { return member{name: name, typ: tar.TypeDir, mode: 0o755} }
func symlink(name, target string) member {
	return member{name: name, typ: tar.TypeSymlink, link: target, mode: 0o777}
}

func writeTarGz(t *testing.T, members ...member) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, m := range members {
		h := &tar.Header{Name: m.name, Typeflag: m.typ, Linkname: m.link, Mode: m.mode, Size: int64(len(m.body)), Format: tar.FormatGNU}
		if m.typ != tar.TypeReg {
			h.Size = 0
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if m.typ == tar.TypeReg {
			if _, err := tw.Write([]byte(m.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestCheckAcceptsAnFEArchive(t *testing.T) {
	p := writeTarGz(t,
		dir("./"), dir("conf/"), file("conf/fe.conf", "x=1\n"), dir("meta/"), dir("meta/bdb/"),
		file("meta/bdb/00000000.jdb", "aaaa"), file("meta/bdb/0000000b.jdb", "b"),
		file("meta/bdb/0000000b.jdb", "bbbb"), // appended again after it grew
		symlink("meta/latest", "bdb/0000000b.jdb"), symlink("conf/up", "../meta"),
		member{name: "meta/bdb/hard", typ: tar.TypeLink, link: "meta/bdb/00000000.jdb"},
		file("./small_files/x", "s"),
	)
	var seen []string
	var lastB string
	s, err := Check(p, func(m Member, r io.Reader) error {
		seen = append(seen, m.Name)
		if m.Name == "meta/bdb/0000000b.jdb" {
			b, _ := io.ReadAll(r)
			lastB = string(b)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(p)
	sum := sha256.Sum256(raw)
	if s.SHA256 != hex.EncodeToString(sum[:]) || s.Size != int64(len(raw)) {
		t.Fatalf("digest %s size %d, want %x %d", s.SHA256, s.Size, sum, len(raw))
	}
	if strings.Join(s.TopLevel, ",") != "conf,meta,small_files" {
		t.Fatalf("top level %v", s.TopLevel)
	}
	if s.Files != 7 || s.Dirs != 3 {
		t.Fatalf("files %d dirs %d", s.Files, s.Dirs)
	}
	if lastB != "bbbb" || seen[len(seen)-1] != "small_files/x" {
		t.Fatalf("visit saw %v, last b %q", seen, lastB)
	}
}

func TestCheckRefusesUnsafeMembers(t *testing.T) {
	cases := map[string][]member{
		"absolute path":             {file("/etc/cron.d/x", "boom")},
		"dot-dot":                   {file("../outside", "boom")},
		"dot-dot inside":            {dir("meta/"), file("meta/../../outside", "boom")},
		"symlink absolute":          {symlink("meta", "/etc")},
		"symlink up":                {dir("conf/"), symlink("conf/x", "../../etc/passwd")},
		"symlink chain":             {symlink("a", "."), symlink("b", "a/../..")},
		"symlink loop":              {symlink("a", "b"), symlink("b", "a")},
		"member through symlink":    {symlink("meta", "conf"), dir("conf/"), file("meta/x", "boom")},
		"member through link later": {file("meta/x", "boom"), symlink("meta", "conf")},
		"hard link outside":         {member{name: "x", typ: tar.TypeLink, link: "/etc/shadow"}},
		"hard link to nothing":      {member{name: "x", typ: tar.TypeLink, link: "missing"}},
		"char device":               {member{name: "dev/null", typ: tar.TypeChar, mode: 0o666}},
		"block device":              {member{name: "sda", typ: tar.TypeBlock, mode: 0o660}},
		"fifo":                      {member{name: "fifo", typ: tar.TypeFifo, mode: 0o644}},
		"set-uid":                   {member{name: "bin/x", typ: tar.TypeReg, mode: 0o4755, body: "x"}},
		"file then folder":          {file("meta", "x"), dir("meta/")},
		"root is a file":            {file(".", "x")},
	}
	for name, members := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Check(writeTarGz(t, members...), nil)
			if !errors.Is(err, ErrUnsafe) {
				t.Fatalf("want ErrUnsafe, got %v", err)
			}
		})
	}
}

func TestCheckRefusesCorruptFiles(t *testing.T) {
	good := writeTarGz(t, file("meta/x", strings.Repeat("data", 10000)))
	raw, _ := os.ReadFile(good)
	cases := map[string][]byte{
		"not gzip":  []byte("plain text, not an archive"),
		"truncated": raw[:len(raw)/2],
		"empty tar": func() []byte {
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			_ = tar.NewWriter(zw).Close()
			_ = zw.Close()
			return b.Bytes()
		}(),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			p := filepath.Join(t.TempDir(), "x.tar.gz")
			if err := os.WriteFile(p, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := Check(p, nil); !errors.Is(err, ErrCorrupt) {
				t.Fatalf("want ErrCorrupt, got %v", err)
			}
		})
	}
}

// fe-archive compresses parts of the tar in parallel: the result is a
// multi-member gzip file, which must read as one stream.
func TestCheckReadsMultiMemberGzip(t *testing.T) {
	var tarBuf bytes.Buffer
	tw := tar.NewWriter(&tarBuf)
	for _, n := range []string{"meta/a", "meta/b"} {
		body := strings.Repeat(n, 5000)
		_ = tw.WriteHeader(&tar.Header{Name: n, Typeflag: tar.TypeReg, Mode: 0o644, Size: int64(len(body))})
		_, _ = tw.Write([]byte(body))
	}
	_ = tw.Close()
	raw := tarBuf.Bytes()
	var out bytes.Buffer
	for _, part := range [][]byte{raw[:7000], raw[7000:]} {
		zw := gzip.NewWriter(&out)
		_, _ = zw.Write(part)
		_ = zw.Close()
	}
	p := filepath.Join(t.TempDir(), "multi.tar.gz")
	if err := os.WriteFile(p, out.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err := Check(p, nil)
	if err != nil || s.Files != 2 {
		t.Fatalf("multi-member gzip: %v %+v", err, s)
	}
}

func TestCleanName(t *testing.T) {
	for in, want := range map[string]string{"./meta/x": "meta/x", "meta/": "meta", "./": "", "a//b": "a/b"} {
		if got, err := CleanName(in); err != nil || got != want {
			t.Errorf("CleanName(%q) = %q, %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "/x", "a/../b", "..", "x\x00y"} {
		if _, err := CleanName(bad); !errors.Is(err, ErrUnsafe) {
			t.Errorf("CleanName(%q) accepted", bad)
		}
	}
}
