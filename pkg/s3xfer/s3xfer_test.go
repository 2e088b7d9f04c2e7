package s3xfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

func noEnv(string) string { return "" }

// Issue 12: validation builds a plan and leaves the options as given.
func TestValidateBuildsAPlanAndKeepsOptions(t *testing.T) {
	o := UploadOptions{Transfer: Transfer{S3: s3conf.Input{Endpoint: "http://m:9000", Getenv: noEnv}, Bucket: "bkt", Key: "fe/x.tar.gz",
		LocalPath: "/tmp/x"}, SHA256: "  " + strings.Repeat("AB", 32) + "\n"}
	before := o
	p, err := o.validate()
	if err != nil {
		t.Fatal(err)
	}
	if p.partSize != DefaultPartSize || p.concurrency != DefaultConcurrency || p.want != strings.Repeat("ab", 32) || p.cfg.Endpoint != "http://m:9000" {
		t.Fatalf("plan %+v", p)
	}
	if o.PartSize != 0 || o.Concurrency != 0 || o.SHA256 != before.SHA256 || o.Key != before.Key {
		t.Fatalf("options changed: %+v", o)
	}
}

// Issue 9 #13: bad bucket names and keys are usage errors.
func TestValidateRefusesBadNames(t *testing.T) {
	base := func() DownloadOptions {
		return DownloadOptions{Transfer: Transfer{S3: s3conf.Input{Endpoint: "http://m:9000", Getenv: noEnv}, Bucket: "backups", Key: "fe/a.tar.gz",
			LocalPath: filepath.Join(t.TempDir(), "out")}}
	}
	if _, err := base().validate(); err != nil {
		t.Fatalf("valid options refused: %v", err)
	}
	for name, mod := range map[string]func(*DownloadOptions){
		"upper case bucket":   func(o *DownloadOptions) { o.Bucket = "Bad_Bucket" },
		"short bucket":        func(o *DownloadOptions) { o.Bucket = "ab" },
		"ip bucket":           func(o *DownloadOptions) { o.Bucket = "192.168.1.1" },
		"key /":               func(o *DownloadOptions) { o.Key = "/" },
		"leading slash":       func(o *DownloadOptions) { o.Key = "/fe/a" },
		"folder key":          func(o *DownloadOptions) { o.Key = "fe/" },
		"empty segment":       func(o *DownloadOptions) { o.Key = "fe//a" },
		"dot segment":         func(o *DownloadOptions) { o.Key = "fe/./a" },
		"dot-dot segment":     func(o *DownloadOptions) { o.Key = "../a" },
		"blank key":           func(o *DownloadOptions) { o.Key = "  " },
		"not utf-8":           func(o *DownloadOptions) { o.Key = "fe/\xff" },
		"too long":            func(o *DownloadOptions) { o.Key = strings.Repeat("k", 1025) },
		"prefix with slash":   func(o *DownloadOptions) { o.Key, o.LatestUnder = "", "/fe/" },
		"prefix empty seg":    func(o *DownloadOptions) { o.Key, o.LatestUnder = "", "fe//" },
		"both key and prefix": func(o *DownloadOptions) { o.LatestUnder = "fe/" },
		"parent is a file":    func(o *DownloadOptions) { o.LocalPath = filepath.Join(o.LocalPath, "x") },
	} {
		o := base()
		mod(&o)
		if name == "parent is a file" {
			if err := os.WriteFile(filepath.Dir(o.LocalPath), nil, 0o600); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := o.validate(); !usage.Is(err) {
			t.Errorf("%s: want a usage error, got %v", name, err)
		}
	}
	for _, prefix := range []string{"fe/", "fe/2026-", "fe"} {
		o := base()
		o.Key, o.LatestUnder = "", prefix
		if _, err := o.validate(); err != nil {
			t.Errorf("prefix %q refused: %v", prefix, err)
		}
	}
}

// source hands over exactly the bytes hashed, and fails at their end when
// the file changed: grown, shrunk, or rewritten with its time put back.
func TestSourceDetectsAChangedFile(t *testing.T) {
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	sum := sha256.Sum256(data)
	open := func(t *testing.T) (*source, string) {
		path := filepath.Join(t.TempDir(), "f")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		fi, _ := f.Stat()
		return &source{ctx: context.Background(), f: f, fi: fi, size: fi.Size(), want: hex.EncodeToString(sum[:]), h: sha256.New()}, path
	}
	t.Run("unchanged", func(t *testing.T) {
		s, _ := open(t)
		got, err := io.ReadAll(s)
		if err != nil || !bytes.Equal(got, data) || s.changed != nil {
			t.Fatalf("%d bytes, %v, %v", len(got), err, s.changed)
		}
	})
	for name, change := range map[string]func(string) error{
		"grown": func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err == nil {
				_, err = f.Write([]byte("more"))
				f.Close()
			}
			return err
		},
		"shrunk": func(p string) error { return os.Truncate(p, int64(len(data)/2)) },
		"rewritten, time kept": func(p string) error {
			fi, _ := os.Stat(p)
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err == nil {
				_, err = f.WriteAt([]byte("tampered"), int64(len(data)-100))
				f.Close()
			}
			if err == nil {
				err = os.Chtimes(p, fi.ModTime(), fi.ModTime())
			}
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			s, path := open(t)
			if _, err := s.Read(make([]byte, 4096)); err != nil { // started before the change
				t.Fatal(err)
			}
			if err := change(path); err != nil {
				t.Fatal(err)
			}
			_, err := io.ReadAll(s)
			if err == nil || s.changed == nil || err != s.changed || !strings.Contains(err.Error(), "changed while it was being uploaded") {
				t.Fatalf("want the change reported, got %v (kept %v)", err, s.changed)
			}
		})
	}
}
