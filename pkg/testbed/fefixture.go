package testbed

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// FEFixture describes a StarRocks-like FE folder written by WriteFEFixture.
type FEFixture struct {
	Dir          string
	ClusterID    string
	ImageVersion int64
	// JDB lists the BDB JE log files (relative to Dir) in the order a hot
	// copy must read them: 0, 1, 9, a, b.
	JDB []string
	// Excluded lists files that an archive must never hold (relative).
	Excluded []string
}

// FixtureClusterID is the clusterId in the fixture's meta/image/VERSION.
const FixtureClusterID = "1403234520"

// FixtureImageVersion is the highest finished image of the fixture.
const FixtureImageVersion = 1041

// WriteFEFixture writes a StarRocks-like FE folder into dir (created when
// missing): meta/bdb/0000000{0,1,9,a,b}.jdb (random bytes, created out of
// order), je.info.0 and je.lck; meta/image/ with image.998, image.1041,
// v2/image.1041, v2/checksum.1041, starmgr/image.5000 (a StarManager image,
// which does not count as the image version), VERSION (clusterId), ROLE and
// an image.ckpt being written; conf/fe.conf; small_files/; log/, lib/ and
// bin/ (which a default archive leaves out).
func WriteFEFixture(dir string) (*FEFixture, error) {
	f := &FEFixture{
		Dir: dir, ClusterID: FixtureClusterID, ImageVersion: FixtureImageVersion,
		JDB: []string{
			"meta/bdb/00000000.jdb", "meta/bdb/00000001.jdb", "meta/bdb/00000009.jdb",
			"meta/bdb/0000000a.jdb", "meta/bdb/0000000b.jdb",
		},
		Excluded: []string{"meta/image/image.ckpt", "meta/bdb/je.lck"},
	}
	random := func(n int) []byte {
		b := make([]byte, n)
		_, _ = rand.Read(b)
		return b
	}
	files := []struct {
		name string
		data []byte
		mode os.FileMode
	}{
		// Created out of numeric order, so a directory listing is not the JE order.
		{"meta/bdb/0000000b.jdb", random(48 << 10), 0o644},
		{"meta/bdb/00000001.jdb", random(96 << 10), 0o644},
		{"meta/bdb/0000000a.jdb", random(64 << 10), 0o644},
		{"meta/bdb/00000000.jdb", random(80 << 10), 0o644},
		{"meta/bdb/00000009.jdb", random(1 << 20), 0o644},
		{"meta/bdb/je.info.0", []byte("2026-11-24 00:00:00.000 UTC INFO [127.0.0.1_9010_1732406400000] Recovery checkpoint search\n"), 0o644},
		{"meta/bdb/je.lck", nil, 0o644},
		{"meta/image/image.998", random(150 << 10), 0o644},
		{"meta/image/image.1041", random(160 << 10), 0o644},
		{"meta/image/image.ckpt", random(70 << 10), 0o644},
		{"meta/image/v2/image.1041", random(170 << 10), 0o644},
		{"meta/image/v2/checksum.1041", []byte("3141592653\n"), 0o644},
		{"meta/image/starmgr/image.5000", random(20 << 10), 0o644},
		{"meta/image/VERSION", []byte("#Sun Nov 24 00:00:00 UTC 2026\nclusterId=" + FixtureClusterID +
			"\ntoken=9b4c2f1e-5d6a-4f8e-a1b2-c3d4e5f6a7b8\nrunMode=shared_data\n"), 0o644},
		{"meta/image/ROLE", []byte("#Sun Nov 24 00:00:00 UTC 2026\nrole=FOLLOWER\nhostType=IP\nname=127.0.0.1_9010_1732406400000\n"), 0o644},
		{"conf/fe.conf", []byte(fixtureFEConf), 0o644},
		{"conf/hadoop_env.sh", []byte("export HADOOP_USER_NAME=${USER}\n"), 0o644},
		{"small_files/10001/ca.pem", []byte("-----BEGIN CERTIFICATE-----\nMIIB (fixture)\n-----END CERTIFICATE-----\n"), 0o644},
		{"log/fe.log", []byte(strings.Repeat("2026-11-24 00:00:00.000Z INFO (main|1) [StarRocksFE.start():130] fixture log line\n", 500)), 0o644},
		{"log/fe.out", []byte("fixture stdout\n"), 0o644},
		{"lib/starrocks-fe.jar", random(256 << 10), 0o644},
		{"lib/jackson-core-2.15.2.jar", random(64 << 10), 0o644},
		{"bin/start_fe.sh", []byte("#!/usr/bin/env bash\necho fixture start_fe.sh\n"), 0o755},
		{"bin/stop_fe.sh", []byte("#!/usr/bin/env bash\necho fixture stop_fe.sh\n"), 0o755},
	}
	for _, file := range files {
		p := filepath.Join(dir, filepath.FromSlash(file.name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, file.data, file.mode); err != nil {
			return nil, err
		}
	}
	return f, nil
}

const fixtureFEConf = `# StarRocks FE configuration (srbackup test fixture)
LOG_DIR = ${STARROCKS_HOME}/log
DATE = "$(date +%Y%m%d-%H%M%S)"
JAVA_OPTS="-Dlog4j2.formatMsgNoLookups=true -Xmx8192m -XX:+UseG1GC -Xlog:gc*:${LOG_DIR}/fe.gc.log.$DATE:time"
meta_dir = ${STARROCKS_HOME}/meta
sys_log_level = INFO
run_mode = shared_data
cloud_native_meta_port = 6090
http_port = 8030
rpc_port = 9020
query_port = 9030
edit_log_port = 9010
mysql_service_nio_enabled = true
# bdbje_reset_election_group = false
`

// TreeDigest describes every entry under root, by slash-separated path
// relative to root: "file <sha256> <mode>", "dir <mode>" or "link <target>".
// Two trees with equal digests hold the same bytes.
func TreeDigest(root string) (map[string]string, error) {
	out := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		rel = filepath.ToSlash(rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			t, err := os.Readlink(p)
			if err != nil {
				return err
			}
			out[rel] = "link " + t
		case d.IsDir():
			out[rel] = fmt.Sprintf("dir %v", info.Mode().Perm())
		default:
			fh, err := os.Open(p)
			if err != nil {
				return err
			}
			h := sha256.New()
			_, err = io.Copy(h, fh)
			fh.Close()
			if err != nil {
				return err
			}
			out[rel] = fmt.Sprintf("file %s %v", hex.EncodeToString(h.Sum(nil)), info.Mode().Perm())
		}
		return nil
	})
	return out, err
}
