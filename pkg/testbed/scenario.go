package testbed

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
)

// Story runs the project's DAGs on a Bed through `airflow dags test`, one
// step at a time, as an operator would: back up, let the cluster change,
// back up again, restore one of the sets. `make demo` and the Airflow tests
// compose their stories from it and compare the cluster with the State it
// had at each backup.
type Story struct {
	Bed     *Bed
	Airflow *Airflow
	// Logf reports progress; OutputTo receives the Airflow output of each
	// run, by stage name. Both may be nil.
	Logf     func(format string, args ...any)
	OutputTo func(stage, output string)
	changes  int
}

// State is what a restore must bring back: every object of the cluster's
// bucket and the FE's meta/ and conf/, by content.
type State struct {
	Bucket map[string]string // key -> SHA-256
	FE     map[string]string // see Bed.FEDigest
}

// Diff describes how got differs from st ("" when it holds the same bytes).
func (st State) Diff(got State) string {
	var out []string
	if d := DiffDigests(st.Bucket, got.Bucket); d != "" {
		out = append(out, "bucket: "+d)
	}
	if d := DiffDigests(st.FE, got.FE); d != "" {
		out = append(out, "FE meta/ and conf/: "+d)
	}
	return strings.Join(out, "; ")
}

func (s *Story) logf(format string, args ...any) {
	if s.Logf != nil {
		s.Logf(format, args...)
	}
}

// State reads the cluster's bucket and the FE folder now.
func (s *Story) State(ctx context.Context) (State, error) {
	b, err := BucketDigest(ctx, s.Bed.Cluster.Client(), BedClusterBucket, "")
	if err != nil {
		return State{}, err
	}
	fe, err := s.Bed.FEDigest()
	return State{Bucket: b, FE: fe}, err
}

// FEDigest describes meta/ and conf/ of the FE folder, without the files an
// archive never holds (an in-progress checkpoint, the JE lock).
func (b *Bed) FEDigest() (map[string]string, error) {
	out := map[string]string{}
	for _, sub := range []string{"meta", "conf"} {
		d, err := TreeDigest(filepath.Join(b.FE.Dir, sub))
		if err != nil {
			return nil, err
		}
		for k, v := range d {
			out[sub+"/"+k] = v
		}
	}
	for _, x := range b.FE.Excluded {
		delete(out, x)
	}
	return out, nil
}

// Run runs `airflow dags test DAG_ID` with conf and returns the run's task
// states and XComs and how long it took; stage names its output. A failed
// run is not an error here: the caller checks RunInfo.State.
func (s *Story) Run(ctx context.Context, stage, dagID string, conf map[string]any) (RunInfo, time.Duration, error) {
	s.logf("%s: airflow dags test %s %s", stage, dagID, confText(conf))
	start := time.Now()
	run, out, err := s.Airflow.DagsTest(ctx, dagID, conf)
	if s.OutputTo != nil {
		s.OutputTo(stage, out)
	}
	if err != nil {
		return run, time.Since(start), fmt.Errorf("%s: %w\n%s", stage, err, tailString(out))
	}
	return run, time.Since(start), nil
}

func confText(conf map[string]any) string {
	if len(conf) == 0 {
		return ""
	}
	keys := make([]string, 0, len(conf))
	for k := range conf {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var parts []string
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s=%v", k, conf[k]))
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// Change is what Story.Change did.
type Change struct {
	Added     []string // new data segments
	Vacuumed  []string // segments deleted, as StarRocks' vacuum does
	Rewritten string   // tablet metadata republished under the same key
	FEFiles   []string // files of meta/ and conf/ written
}

// Change does to the cluster what StarRocks does between two backups: new
// segments in a partition, three older segments vacuumed, one tablet
// metadata file (*.meta) republished in place under its key (same size,
// other bytes), and new FE metadata (a BDB JE log file, a line in fe.conf).
func (s *Story) Change(ctx context.Context) (Change, error) {
	s.changes++
	round := s.changes
	var c Change
	cl := s.Bed.Cluster.Client()
	var metas, segments []minio.ObjectInfo
	for o := range cl.ListObjects(ctx, BedClusterBucket, minio.ListObjectsOptions{Recursive: true}) {
		if o.Err != nil {
			return c, o.Err
		}
		switch path.Ext(o.Key) {
		case ".meta":
			metas = append(metas, o)
		case ".dat":
			segments = append(segments, o)
		}
	}
	if len(metas) == 0 || len(segments) < 3 {
		return c, fmt.Errorf("change: the bucket holds %d .meta and %d .dat objects; seed it first", len(metas), len(segments))
	}
	meta := metas[round%len(metas)]
	c.Rewritten = meta.Key
	body := strings.Repeat(fmt.Sprintf("republished %d ", round), int(meta.Size)/12+1)[:meta.Size]
	put := func(key, body string) error {
		_, err := cl.PutObject(ctx, BedClusterBucket, key, strings.NewReader(body), int64(len(body)), minio.PutObjectOptions{})
		return err
	}
	if err := put(meta.Key, body); err != nil {
		return c, err
	}
	partition := path.Dir(path.Dir(meta.Key))
	for i := range 5 {
		key := fmt.Sprintf("%s/data/%016x_%02d_round%d.dat", partition, 900000+round, i, round)
		if err := put(key, strings.Repeat(key, 40+i)); err != nil {
			return c, err
		}
		c.Added = append(c.Added, key)
	}
	for _, o := range segments[:3] {
		if err := cl.RemoveObject(ctx, BedClusterBucket, o.Key, minio.RemoveObjectOptions{}); err != nil {
			return c, err
		}
		c.Vacuumed = append(c.Vacuumed, o.Key)
	}
	jdb := fmt.Sprintf("meta/bdb/%08x.jdb", 0x20+round)
	if err := writeFile(filepath.Join(s.Bed.FE.Dir, jdb), strings.Repeat(fmt.Sprintf("journal %d\n", round), 4096)); err != nil {
		return c, err
	}
	if err := appendFile(filepath.Join(s.Bed.FE.Dir, "conf", "fe.conf"), fmt.Sprintf("# changed before backup %d\n", round+1)); err != nil {
		return c, err
	}
	c.FEFiles = []string{jdb, "conf/fe.conf"}
	s.logf("the cluster changed: %d new segments, %d vacuumed, %s republished in place, FE metadata %v",
		len(c.Added), len(c.Vacuumed), c.Rewritten, c.FEFiles)
	return c, nil
}

// Catalog runs the catalog binary of binDir on the Bed's off-site bucket
// (catalog list, latest, verify ...) and returns its decoded result line
// and exit code.
func (b *Bed) Catalog(ctx context.Context, binDir string, args ...string) (map[string]any, int, error) {
	return runTask(ctx, filepath.Join(binDir, "catalog"), append(b.Offsite.Env("SRB_S3_ACCESS_KEY", "SRB_S3_SECRET_KEY"),
		"SRB_S3_ENDPOINT="+b.Offsite.Endpoint(), "SRB_S3_BUCKET="+BedBackupBucket), args...)
}

// ObjectExists tells whether the off-site bucket holds key.
func (b *Bed) ObjectExists(ctx context.Context, key string) (bool, error) {
	_, err := b.Offsite.Client().StatObject(ctx, BedBackupBucket, key, minio.StatObjectOptions{})
	if minio.ToErrorResponse(err).Code == "NoSuchKey" {
		return false, nil
	}
	return err == nil, err
}

// ReadObject returns an object of the off-site bucket.
func (b *Bed) ReadObject(ctx context.Context, key string) ([]byte, error) {
	o, err := b.Offsite.Client().GetObject(ctx, BedBackupBucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, err
	}
	defer o.Close()
	return io.ReadAll(o)
}

// runTask runs a task binary with env (and nothing else of this process's
// environment but PATH and HOME) and decodes its result line, the last
// line of its stdout.
func runTask(ctx context.Context, bin string, env []string, args ...string) (map[string]any, int, error) {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}, env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	code := 0
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		code = ee.ExitCode()
	case err != nil:
		return nil, -1, err
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	var res map[string]any
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &res); err != nil {
		return nil, code, fmt.Errorf("%s: no result line (exit %d): %v\n%s", filepath.Base(bin), code, err, tailString(stderr.String()))
	}
	return res, code, nil
}

func writeFile(p, body string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	return os.WriteFile(p, []byte(body), 0o644)
}

func appendFile(p, line string) error {
	f, err := os.OpenFile(p, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	if _, err := f.WriteString(line); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
