//go:build e2e

package fe

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// Issue 9 #16: the archive's disk fills up during the copy (here another
// writer takes the space after the free-space check): the error carries
// tar's reason, "No space left on device", which used to go to a file on
// that full disk and be lost; no temp file is left.
func TestArchiveFullDiskSaysWhy(t *testing.T) {
	s := testbed.NewSSHD(t)
	fx, err := testbed.WriteFEFixture(filepath.Join(t.TempDir(), "fe"))
	if err != nil {
		t.Fatal(err)
	}
	disk := testbed.SmallDisk(t, 80)
	var filler string
	o := ArchiveOptions{SSH: sshOptions(s), Dir: fx.Dir, RemoteArchive: filepath.Join(disk, "fe.tar.gz")}
	o.hook = hostHook(t, func(pass int, _ []string) error {
		if pass == 0 {
			filler = testbed.FillDisk(t, disk, 256)
		}
		return nil
	})
	_, err = Archive(zerolog.New(io.Discard).WithContext(context.Background()), o)
	if err == nil || !strings.Contains(err.Error(), "No space left on device") {
		t.Fatalf("archive on a full disk: %v", err)
	}
	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	testbed.WantEntries(t, disk)
}
