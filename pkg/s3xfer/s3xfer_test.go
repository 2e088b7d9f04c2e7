package s3xfer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"

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

// A part body hands over exactly the bytes hashed, as often as the SDK
// reads it, and fails at their end, withholding the last bytes and not to
// be retried, when the file changed: grown, shrunk, or rewritten with its
// time put back.
func TestPartBodyDetectsAChangedFile(t *testing.T) {
	data := make([]byte, 1<<20)
	_, _ = rand.Read(data)
	const partSize = 256 << 10
	open := func(t *testing.T) (*sender, string) {
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
		s := newSender(&uploadPlan{plan: &plan{localPath: path, partSize: partSize}}, nil, f, fi)
		sum, err := hashParts(context.Background(), f, s.l, nil, s.hashed)
		if want := sha256.Sum256(data); err != nil || sum != hex.EncodeToString(want[:]) || s.l.count != 4 {
			t.Fatalf("hashParts: %s, %v, %d parts", sum, err, s.l.count)
		}
		return s, path
	}
	t.Run("unchanged", func(t *testing.T) {
		s, _ := open(t)
		for k := range s.l.count {
			b := s.body(k)
			for range 2 { // signed, then sent; or sent, then retried
				got, err := io.ReadAll(b)
				if err != nil || !bytes.Equal(got, data[k*partSize:(k+1)*partSize]) {
					t.Fatalf("part %d: %d bytes, %v", k, len(got), err)
				}
				if _, err := b.Seek(0, io.SeekStart); err != nil {
					t.Fatal(err)
				}
			}
		}
		if s.changedErr() != nil {
			t.Fatal(s.changedErr())
		}
	})
	for name, tc := range map[string]struct {
		change func(string) error
		says   string
	}{
		"grown": {func(p string) error {
			f, err := os.OpenFile(p, os.O_WRONLY|os.O_APPEND, 0)
			if err == nil {
				_, err = f.Write([]byte("more"))
				f.Close()
			}
			return err
		}, "1048576 bytes when opened, 1048580 now"},
		"shrunk": {func(p string) error { return os.Truncate(p, int64(len(data)-100)) }, "it shrank: part 4 ends"},
		"rewritten, time kept": {func(p string) error {
			fi, _ := os.Stat(p)
			f, err := os.OpenFile(p, os.O_WRONLY, 0)
			if err == nil {
				_, err = f.WriteAt([]byte("tampered"), int64(len(data)-1000))
				f.Close()
			}
			if err == nil {
				err = os.Chtimes(p, fi.ModTime(), fi.ModTime())
			}
			return err
		}, "the bytes read to send part 4 are not those hashed"},
	} {
		t.Run(name, func(t *testing.T) {
			s, path := open(t)
			b := s.body(3)
			if _, err := b.Read(make([]byte, 4096)); err != nil { // started before the change
				t.Fatal(err)
			}
			if err := tc.change(path); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(b)
			if err == nil || s.changedErr() == nil || !errors.Is(err, s.changedErr()) ||
				!strings.Contains(err.Error(), "changed while it was being uploaded") || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("want the change reported, got %v (kept %v)", err, s.changedErr())
			}
			if 4096+len(got) >= partSize {
				t.Fatalf("all %d bytes of the part were handed over", 4096+len(got))
			}
			if retry.IsErrorRetryables(retry.DefaultRetryables).IsErrorRetryable(err) != aws.FalseTernary {
				t.Fatal("the SDK would retry the request")
			}
		})
	}
	t.Run("read out of order", func(t *testing.T) {
		s, _ := open(t)
		b := s.body(1)
		if _, err := b.Seek(10, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadAll(b); err == nil || !strings.Contains(err.Error(), "out of order") {
			t.Fatalf("a body read from the middle was not refused: %v", err)
		}
	})
}
