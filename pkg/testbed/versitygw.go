package testbed

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// VersityModule is the pinned versitygw (Versity S3 Gateway), installed
// with go install into the cache.
const VersityModule = "github.com/versity/versitygw/cmd/versitygw@v1.8.0"

// VersityRegion is the region the gateway is started with (it checks it).
const VersityRegion = "us-east-1"

// Versity is a real versitygw on a loopback port, serving a folder through
// its posix backend.
type Versity struct{ s3Process }

// VersityBinary returns the pinned versitygw, installing it when missing.
func VersityBinary() (string, error) { return GoInstall("versitygw", VersityModule) }

// StartVersity starts a versitygw keeping its buckets under dir/data.
func StartVersity(dir string) (*Versity, error) {
	bin, err := VersityBinary()
	if err != nil {
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.MkdirAll(data, 0o755); err != nil {
		return nil, err
	}
	v := &Versity{s3Process{Dir: dir, AccessKey: "vgw-" + randHex(4), SecretKey: randHex(16)}}
	return v, v.start("versitygw", filepath.Join(dir, "versitygw.log"), nil, bin, func(port int) []string {
		return []string{"--access", v.AccessKey, "--secret", v.SecretKey, "--region", VersityRegion,
			"--port", fmt.Sprintf("127.0.0.1:%d", port), "--quiet", "posix", data}
	})
}

// NewVersity starts a versitygw for a test and stops it at the test's end.
func NewVersity(t testing.TB) *Versity { return startForTest(t, "versitygw", StartVersity) }
