//go:build e2e

package fe_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

// feSetup starts an sshd and writes an FE fixture in a folder whose name
// holds a space and a ';' (a command if it were not quoted) and returns
// the canary file that command would create.
func feSetup(t *testing.T) (*testbed.SSHD, *testbed.FEFixture, string) {
	t.Helper()
	s := testbed.NewSSHD(t)
	base := t.TempDir()
	canary := filepath.Join(base, "pwned")
	fx, err := testbed.WriteFEFixture(filepath.Join(base, "star rocks", "fe dir; touch "+canary+"; $(touch "+canary+")"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := os.Stat(canary); err == nil {
			t.Errorf("a path ran a command on the host: %s exists", canary)
		}
	})
	return s, fx, canary
}

// tarNames returns a tar.gz's member names in archive order.
func tarNames(t *testing.T, p string) []string {
	names, _ := testbed.TarMembers(t, p)
	return names
}

func has(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// digest returns TreeDigest of the given top-level entries of dir.
func digest(t *testing.T, dir string, entries ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, e := range entries {
		d, err := testbed.TreeDigest(filepath.Join(dir, e))
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range d {
			out[e+"/"+k] = v
		}
	}
	return out
}

func sameDigest(t *testing.T, what string, got, want map[string]string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d entries, want %d\n got %v\nwant %v", what, len(got), len(want), keys(got), keys(want))
	}
	for k, v := range want {
		if got[k] != v {
			t.Fatalf("%s: %s is %q, want %q", what, k, got[k], v)
		}
	}
}

func keys(m map[string]string) []string {
	var k []string
	for x := range m {
		k = append(k, x)
	}
	sort.Strings(k)
	return k
}

// dirEntries lists a folder's names.
func dirEntries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range es {
		names = append(names, e.Name())
	}
	return names
}

// The whole cycle on a folder whose path needs quoting: archive on the
// host, fetch, break the FE folder, extract: meta/ and conf/ come back
// byte for byte; the archive holds what it should and nothing else.
func TestArchiveFetchExtractRoundTrip(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	want := digest(t, fx.Dir, "meta", "conf", "small_files")
	for _, ex := range fx.Excluded {
		delete(want, ex)
	}
	logBefore := digest(t, fx.Dir, "log", "lib", "bin")
	remoteDir := t.TempDir()
	remote := filepath.Join(remoteDir, "fe meta; backup.tar.gz")

	ar := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", remote).Env(s.Env()...).Run()
	testbed.WantCode(t, ar, 0)
	if ar.Str("remote_path") != remote || ar.Str("sha256") != testbed.FileSHA256(t, remote) || ar.Num("size") == 0 {
		t.Fatalf("archive result does not describe %s: %s", remote, ar.Line)
	}
	if ar.Num("image_version") != fx.ImageVersion || ar.Str("cluster_id") != fx.ClusterID || ar.Fields["fe_running"] != false {
		t.Fatalf("image_version, cluster_id or fe_running wrong: %s", ar.Line)
	}
	names := tarNames(t, remote)
	var files, jdbs []string
	for _, n := range names {
		if !strings.HasSuffix(n, "/") {
			files = append(files, n)
		}
		if strings.HasSuffix(n, ".jdb") {
			jdbs = append(jdbs, n)
		}
	}
	if int(ar.Num("files")) != len(files) || int(ar.Num("jdb_files")) != len(fx.JDB) {
		t.Fatalf("files %d jdb_files %d, archive has %d files", ar.Num("files"), ar.Num("jdb_files"), len(files))
	}
	if strings.Join(jdbs, " ") != strings.Join(fx.JDB, " ") {
		t.Fatalf(".jdb files not in ascending hex order:\n got %v\nwant %v", jdbs, fx.JDB)
	}
	for _, n := range names {
		top, _, _ := strings.Cut(n, "/")
		if top != "meta" && top != "conf" && top != "small_files" {
			t.Fatalf("%s should not be in a default archive", n)
		}
	}
	for _, ex := range append(fx.Excluded, "meta/image/image.ckpt", "meta/bdb/je.lck") {
		if has(names, ex) {
			t.Fatalf("%s is in the archive", ex)
		}
	}
	for _, need := range []string{"conf/fe.conf", "meta/image/VERSION", "meta/image/ROLE", "meta/image/v2/checksum.1041", "meta/image/starmgr/image.5000", "small_files/10001/ca.pem"} {
		if !has(names, need) {
			t.Fatalf("%s is missing from the archive", need)
		}
	}
	if got := dirEntries(t, remoteDir); len(got) != 1 {
		t.Fatalf("temp files left beside the archive: %v", got)
	}

	// Fetch, verified by the host's sha256sum (no --sha256).
	local := t.TempDir()
	got := filepath.Join(local, "fe.tar.gz")
	fr := testbed.Task(t, "fe-fetch", "--remote-path", remote, "--local-path", got).Env(s.Env()...).Run()
	testbed.WantCode(t, fr, 0)
	if testbed.FileSHA256(t, got) != ar.Str("sha256") || fr.Str("sha256") != ar.Str("sha256") || fr.Num("size") != ar.Num("size") ||
		fr.Str("local_path") != got || fr.Str("verified_with") != "sha256sum on the host" {
		t.Fatalf("fetch result %s", fr.Line)
	}
	// Again with --sha256 and --remove-remote.
	got2 := filepath.Join(local, "fe2.tar.gz")
	fr2 := testbed.Task(t, "fe-fetch", "--remote-path", remote, "--local-path", got2, "--sha256", strings.ToUpper(ar.Str("sha256")), "--remove-remote").
		Env(s.Env()...).Run()
	testbed.WantCode(t, fr2, 0)
	if fr2.Fields["removed_remote"] != true || fr2.Str("verified_with") != "--sha256" || testbed.FileSHA256(t, got2) != ar.Str("sha256") {
		t.Fatalf("fetch --sha256 --remove-remote result %s", fr2.Line)
	}
	if _, err := os.Stat(remote); !os.IsNotExist(err) {
		t.Fatalf("--remove-remote left the remote archive: %v", err)
	}
	if left := dirEntries(t, local); strings.Join(left, ",") != "fe.tar.gz,fe2.tar.gz" {
		t.Fatalf("local folder holds %v", left)
	}

	// Break the FE folder, then restore it.
	if err := os.Remove(filepath.Join(fx.Dir, "meta", "bdb", "00000009.jdb")); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fx.Dir, "meta", "bdb", "0000000f.jdb"), []byte("from after the backup"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(fx.Dir, "conf", "fe.conf"), []byte("broken = yes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	broken := digest(t, fx.Dir, "meta", "conf")
	er := testbed.Task(t, "fe-extract", "--local-path", got, "--fe-dir", fx.Dir).Env(s.Env()...).Run()
	testbed.WantCode(t, er, 0)
	sameDigest(t, "restored meta/, conf/, small_files/", digest(t, fx.Dir, "meta", "conf", "small_files"), want)
	sameDigest(t, "log/, lib/, bin/ after the restore", digest(t, fx.Dir, "log", "lib", "bin"), logBefore)

	var replaced []struct{ Name, Path, Previous string }
	raw, _ := json.Marshal(er.Fields["replaced"])
	if err := json.Unmarshal(raw, &replaced); err != nil || len(replaced) != 3 {
		t.Fatalf("replaced: %s (%v)", raw, err)
	}
	prev := map[string]string{}
	for _, r := range replaced {
		if r.Path != filepath.Join(fx.Dir, r.Name) || !strings.HasPrefix(r.Previous, filepath.Join(fx.Dir, r.Name+".before-restore-")) {
			t.Fatalf("replaced entry %+v", r)
		}
		prev[r.Name] = r.Previous
	}
	kept := map[string]string{}
	for name, p := range prev {
		if name == "small_files" {
			continue
		}
		d, err := testbed.TreeDigest(p)
		if err != nil {
			t.Fatal(err)
		}
		for k, v := range d {
			kept[name+"/"+k] = v
		}
	}
	sameDigest(t, "previous copies", kept, broken)
	if er.Str("sha256") != ar.Str("sha256") || er.Num("image_version") != fx.ImageVersion || er.Str("cluster_id") != fx.ClusterID {
		t.Fatalf("extract result %s", er.Line)
	}
	for _, e := range dirEntries(t, filepath.Dir(fx.Dir)) {
		if e != filepath.Base(fx.Dir) {
			t.Fatalf("staging left beside the FE folder: %s", e)
		}
	}
}

// --include changes what is archived; "." takes everything but what is
// never archived (checkpoints, lock and pid files).
func TestArchiveIncludes(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	if err := os.WriteFile(filepath.Join(fx.Dir, "bin", "fe.pid"), []byte("999999999\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	all := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "all.tar.gz"), "--include", ".").
		Env(s.Env()...).Run()
	testbed.WantCode(t, all, 0)
	names := tarNames(t, filepath.Join(out, "all.tar.gz"))
	for _, n := range []string{"log/fe.log", "lib/starrocks-fe.jar", "bin/start_fe.sh", "meta/bdb/0000000b.jdb", "conf/fe.conf"} {
		if !has(names, n) {
			t.Fatalf("--include . lacks %s", n)
		}
	}
	for _, n := range []string{"meta/image/image.ckpt", "meta/bdb/je.lck", "bin/fe.pid"} {
		if has(names, n) {
			t.Fatalf("--include . archived %s", n)
		}
	}
	if all.Num("excluded") != 3 {
		t.Fatalf("excluded %d, want 3: %s", all.Num("excluded"), all.Line)
	}

	conf := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "conf.tar.gz")).
		Env(append(s.Env(), "SRB_INCLUDE=conf")...).Run()
	testbed.WantCode(t, conf, 0)
	for _, n := range tarNames(t, filepath.Join(out, "conf.tar.gz")) {
		if !strings.HasPrefix(n, "conf/") {
			t.Fatalf("SRB_INCLUDE=conf archived %s", n)
		}
	}
	if _, ok := conf.Fields["image_version"]; ok {
		t.Fatalf("an archive without meta/ reports an image version: %s", conf.Line)
	}

	missing := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "x.tar.gz"), "--include", "nope").
		Env(s.Env()...).Run()
	testbed.WantCode(t, missing, 1)
	if !strings.Contains(missing.Str("error"), "nope does not exist") {
		t.Fatalf("error %q", missing.Str("error"))
	}
	exists := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "all.tar.gz")).Env(s.Env()...).Run()
	testbed.WantCode(t, exists, 1)
	if !strings.Contains(exists.Str("error"), "already exists") {
		t.Fatalf("error %q", exists.Str("error"))
	}
	if got := dirEntries(t, out); strings.Join(got, ",") != "all.tar.gz,conf.tar.gz" {
		t.Fatalf("archive folder holds %v", got)
	}
}

// makeReadable lets another user reach p: every folder above it gets o+rx.
func makeReadable(t *testing.T, p string) {
	t.Helper()
	for d := p; d != "/" && d != "."; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if fi.IsDir() {
			if err := os.Chmod(d, fi.Mode().Perm()|0o005); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// Password authentication (SRB_SSH_PASSWORD or SRB_SSH_PASSWORD_FILE, never a
// flag) as a dedicated non-root user; the password is printed nowhere.
// A file that user cannot read fails the archive (a backup missing a file
// is not a backup) and leaves no temp file.
func TestPasswordAuth(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	if s.PasswordUser == "" {
		t.Fatal("the test bed has no password user: these tests must run as root")
	}
	makeReadable(t, fx.Dir)
	out := t.TempDir()
	makeReadable(t, out)
	if err := os.Chmod(out, 0o777); err != nil {
		t.Fatal(err)
	}
	ok := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "pw.tar.gz"), "--log-level", "debug").
		Env(s.PasswordEnv()...).Secrets(s.Password).Run()
	testbed.WantCode(t, ok, 0)
	if ok.Str("sha256") != testbed.FileSHA256(t, filepath.Join(out, "pw.tar.gz")) {
		t.Fatalf("result %s", ok.Line)
	}

	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte(s.Password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{"SRB_SSH_HOST=" + s.Host, "SRB_SSH_PORT=" + strconv.Itoa(s.Port), "SRB_SSH_USER=" + s.PasswordUser,
		"SRB_SSH_PASSWORD_FILE=" + pwFile, "SRB_SSH_KNOWN_HOSTS=" + s.KnownHosts}
	if err := os.Chmod(filepath.Join(fx.Dir, "meta", "image", "ROLE"), 0o600); err != nil {
		t.Fatal(err)
	}
	denied := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "denied.tar.gz")).
		Env(env...).Secrets(s.Password).Run()
	testbed.WantCode(t, denied, 1)
	if !strings.Contains(denied.Str("error"), "Permission denied") || !strings.Contains(denied.Str("error"), "ROLE") {
		t.Fatalf("error %q", denied.Str("error"))
	}
	if got := dirEntries(t, out); strings.Join(got, ",") != "pw.tar.gz" {
		t.Fatalf("a failed archive left %v", got)
	}

	wrong := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir).
		Env(append(s.PasswordEnv(), "SRB_SSH_PASSWORD=not-"+s.Password)...).Secrets(s.Password, "not-"+s.Password).Run()
	testbed.WantCode(t, wrong, 1)
	if !strings.Contains(wrong.Str("error"), "authentication failed") {
		t.Fatalf("error %q", wrong.Str("error"))
	}
}

// --ssh-conn in Airflow's forms: a URI with key_file and host_key, a JSON
// connection with an encrypted private_key and its passphrase, and a
// connection id looked up in AIRFLOW_CONN_<ID>.
func TestSSHConnForms(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	out := t.TempDir()
	uri := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "uri.tar.gz")).
		Env("SRB_SSH_CONN=" + s.ConnURI()).Run()
	testbed.WantCode(t, uri, 0)

	keyPEM, pub, err := testbed.NewClientKey("pass phrase 42")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Authorize(pub); err != nil {
		t.Fatal(err)
	}
	conn, _ := json.Marshal(map[string]any{
		"conn_type": "ssh", "host": s.Host, "port": s.Port, "login": s.User,
		"extra": map[string]any{"private_key": string(keyPEM), "private_key_passphrase": "pass phrase 42",
			"host_key": s.HostKey, "conn_timeout": 10, "cmd_timeout": 60},
	})
	keyLines := strings.Split(strings.TrimSpace(string(keyPEM)), "\n")
	js := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "json.tar.gz"), "--log-level", "debug").
		Env("AIRFLOW_CONN_FE_SSH="+string(conn), "SRB_SSH_CONN=fe_ssh").Secrets(append(keyLines[1:len(keyLines)-1], "pass phrase 42")...).Run()
	testbed.WantCode(t, js, 0)

	// The connection's values yield to explicit flags: a wrong port in the
	// URI, the right one on the command line.
	bad := strings.Replace(s.ConnURI(), ":"+strconv.Itoa(s.Port)+"/", ":1/", 1)
	flagWins := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "flag.tar.gz"), "--port", strconv.Itoa(s.Port)).
		Env("SRB_SSH_CONN=" + bad).Run()
	testbed.WantCode(t, flagWins, 0)
	if got := dirEntries(t, out); len(got) != 3 {
		t.Fatalf("archives %v", got)
	}
}

// Host keys are verified: unknown and changed keys are refused with a
// clear message, a pinned key is checked, and turning checks off warns.
func TestHostKeyVerification(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	base := []string{"SRB_SSH_HOST=" + s.Host, "SRB_SSH_PORT=" + strconv.Itoa(s.Port), "SRB_SSH_USER=" + s.User, "SRB_SSH_KEY_FILE=" + s.KeyFile}
	_, otherKey, err := testbed.NewClientKey("")
	if err != nil {
		t.Fatal(err)
	}
	emptyKH := filepath.Join(t.TempDir(), "known_hosts")
	otherEntry := fmt.Sprintf("[%s]:%d %s\n", s.Host, s.Port, otherKey)
	changedKH := filepath.Join(t.TempDir(), "known_hosts")
	if err := os.WriteFile(emptyKH, []byte("# nothing known\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(changedKH, []byte(otherEntry), 0o644); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"unknown host", []string{"SRB_SSH_KNOWN_HOSTS=" + emptyKH}, nil, 1, "is unknown"},
		{"no known_hosts file", nil, nil, 1, "does not exist"},
		{"changed host key", []string{"SRB_SSH_KNOWN_HOSTS=" + changedKH}, nil, 1, "CHANGED"},
		{"wrong pinned key", nil, []string{"--host-key", otherKey}, 1, "does not match the pinned key"},
		{"pinned key, bare base64", []string{"SRB_SSH_HOST_KEY=" + s.HostKeyBase64()}, nil, 0, ""},
		{"known_hosts", []string{"SRB_SSH_KNOWN_HOSTS=" + s.KnownHosts}, nil, 0, ""},
		{"insecure", nil, []string{"--insecure-ignore-host-key"}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			args := append([]string{"--fe-dir", fx.Dir, "--remote-archive", filepath.Join(t.TempDir(), "a.tar.gz")}, c.args...)
			r := testbed.Task(t, "fe-archive", args...).Env(append(base, c.env...)...).Run()
			testbed.WantCode(t, r, c.code)
			if c.want != "" && !strings.Contains(r.Str("error"), c.want) {
				t.Fatalf("error %q lacks %q", r.Str("error"), c.want)
			}
			if c.name == "insecure" && !r.HasLog("warn", "host key verification is OFF") {
				t.Fatalf("no warning with --insecure-ignore-host-key:\n%s", r.Stderr)
			}
		})
	}
}

// A refused connection and a rejected key fail with one clear line.
func TestConnectionErrors(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	port, err := testbed.FreePort()
	if err != nil {
		t.Fatal(err)
	}
	refused := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--port", strconv.Itoa(port)).Env(s.Env()...).Run()
	testbed.WantCode(t, refused, 1)
	if !strings.Contains(refused.Str("error"), "connection refused") {
		t.Fatalf("error %q", refused.Str("error"))
	}
	keyPEM, _, err := testbed.NewClientKey("")
	if err != nil {
		t.Fatal(err)
	}
	stranger := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(stranger, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	denied := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--key-file", stranger).Env(s.Env()...).Run()
	testbed.WantCode(t, denied, 1)
	if !strings.Contains(denied.Str("error"), "authentication failed") || !strings.Contains(denied.Str("error"), stranger) {
		t.Fatalf("error %q", denied.Str("error"))
	}
}

// Keys held by an ssh-agent (SSH_AUTH_SOCK) are used.
func TestAgentAuth(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	sock := filepath.Join(t.TempDir(), "agent.sock")
	agent := exec.Command("ssh-agent", "-D", "-a", sock)
	agent.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := agent.Start(); err != nil {
		t.Fatalf("ssh-agent: %v", err)
	}
	t.Cleanup(func() { _ = agent.Process.Kill(); _ = agent.Wait() })
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(sock); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	add := exec.Command("ssh-add", s.KeyFile)
	add.Env = append(os.Environ(), "SSH_AUTH_SOCK="+sock)
	if out, err := add.CombinedOutput(); err != nil {
		t.Fatalf("ssh-add: %v %s", err, out)
	}
	env := []string{"SRB_SSH_HOST=" + s.Host, "SRB_SSH_PORT=" + strconv.Itoa(s.Port), "SRB_SSH_USER=" + s.User,
		"SRB_SSH_KNOWN_HOSTS=" + s.KnownHosts, "SSH_AUTH_SOCK=" + sock}
	r := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(t.TempDir(), "a.tar.gz")).Env(env...).Run()
	testbed.WantCode(t, r, 0)
}

// archiveAndFetch archives the fixture and fetches it to a local file.
func archiveAndFetch(t *testing.T, s *testbed.SSHD, fx *testbed.FEFixture) string {
	t.Helper()
	remote := filepath.Join(t.TempDir(), "fe.tar.gz")
	testbed.WantCode(t, testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", remote).Env(s.Env()...).Run(), 0)
	local := filepath.Join(t.TempDir(), "fe.tar.gz")
	testbed.WantCode(t, testbed.Task(t, "fe-fetch", "--remote-path", remote, "--local-path", local, "--remove-remote").Env(s.Env()...).Run(), 0)
	return local
}

// unchanged fails the test unless the FE folder and its parent (where the
// staging folder would be) are as they were.
func unchanged(t *testing.T, fx *testbed.FEFixture, before map[string]string) {
	t.Helper()
	after, err := testbed.TreeDigest(filepath.Dir(fx.Dir))
	if err != nil {
		t.Fatal(err)
	}
	sameDigest(t, "FE folder after a refused restore", after, before)
}

// While the FE runs (fe.pid names a live process, or an FE port listens)
// fe-extract changes nothing; --force overrides. fe-archive reports the
// running FE and warns about the hot copy.
func TestExtractRefusesRunningFE(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	local := archiveAndFetch(t, s, fx)

	sleep := exec.Command("sleep", "300")
	sleep.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := sleep.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	pidFile := filepath.Join(fx.Dir, "bin", "fe.pid")
	if err := os.WriteFile(pidFile, []byte(strconv.Itoa(sleep.Process.Pid)+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}

	ar := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(t.TempDir(), "hot.tar.gz")).Env(s.Env()...).Run()
	testbed.WantCode(t, ar, 0)
	if ar.Fields["fe_running"] != true || ar.Num("fe_pid") != int64(sleep.Process.Pid) || !ar.HasLog("warn", "hot copy") {
		t.Fatalf("a running FE not reported: %s\n%s", ar.Line, ar.Stderr)
	}

	before, err := testbed.TreeDigest(filepath.Dir(fx.Dir))
	if err != nil {
		t.Fatal(err)
	}
	r := testbed.Task(t, "fe-extract", "--local-path", local, "--fe-dir", fx.Dir, "--fe-ports", "none").Env(s.Env()...).Run()
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "the FE is running") || !strings.Contains(r.Str("error"), strconv.Itoa(sleep.Process.Pid)) {
		t.Fatalf("error %q", r.Str("error"))
	}
	unchanged(t, fx, before)

	// A dead pid is not a running FE; a listening FE port is.
	_ = sleep.Process.Kill()
	_ = sleep.Wait()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	r = testbed.Task(t, "fe-extract", "--local-path", local, "--fe-dir", fx.Dir, "--fe-ports", port).Env(s.Env()...).Run()
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "port "+port+" listening") {
		t.Fatalf("error %q", r.Str("error"))
	}
	unchanged(t, fx, before)

	forced := testbed.Task(t, "fe-extract", "--local-path", local, "--fe-dir", fx.Dir, "--fe-ports", port, "--force").Env(s.Env()...).Run()
	testbed.WantCode(t, forced, 0)
	if forced.Fields["forced"] != true || forced.Fields["fe_running"] != true || !forced.HasLog("warn", "--force") {
		t.Fatalf("forced restore: %s", forced.Line)
	}
}

// writeArchive writes a tar.gz with the given headers (and bodies).
func writeArchive(t *testing.T, hdrs ...*tar.Header) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, h := range hdrs {
		body := ""
		if h.Typeflag == tar.TypeReg {
			body = "payload of " + h.Name
			h.Size = int64(len(body))
		}
		if h.Mode == 0 {
			h.Mode = 0o644
		}
		if err := tw.WriteHeader(h); err != nil {
			t.Fatal(err)
		}
		if body != "" {
			_, _ = tw.Write([]byte(body))
		}
	}
	_ = tw.Close()
	_ = zw.Close()
	p := filepath.Join(t.TempDir(), "evil.tar.gz")
	if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// Archives that would write outside the FE folder are refused before
// anything is sent: nothing changes on the host.
func TestExtractRefusesMaliciousArchives(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	before, err := testbed.TreeDigest(filepath.Dir(fx.Dir))
	if err != nil {
		t.Fatal(err)
	}
	victim := filepath.Join(t.TempDir(), "victim")
	reg := func(name string) *tar.Header { return &tar.Header{Name: name, Typeflag: tar.TypeReg} }
	cases := map[string][]*tar.Header{
		"absolute path":       {reg("meta/ok"), reg(victim)},
		"dot-dot":             {reg("meta/../../../victim")},
		"symlink outside":     {{Name: "meta", Typeflag: tar.TypeSymlink, Linkname: filepath.Dir(victim)}, reg("meta/victim")},
		"relative symlink up": {{Name: "conf/up", Typeflag: tar.TypeSymlink, Linkname: "../../.."}},
		"hard link outside":   {{Name: "meta/x", Typeflag: tar.TypeLink, Linkname: "/etc/passwd"}},
		"device file":         {{Name: "meta/null", Typeflag: tar.TypeChar, Devmajor: 1, Devminor: 3}},
		"fifo":                {{Name: "meta/fifo", Typeflag: tar.TypeFifo}},
	}
	for name, hdrs := range cases {
		t.Run(name, func(t *testing.T) {
			p := writeArchive(t, hdrs...)
			r := testbed.Task(t, "fe-extract", "--local-path", p, "--fe-dir", fx.Dir, "--fe-ports", "none").Env(s.Env()...).Run()
			testbed.WantCode(t, r, 1)
			if !strings.Contains(r.Str("error"), "unsafe archive member") || !strings.Contains(r.Str("error"), "nothing was changed") {
				t.Fatalf("error %q", r.Str("error"))
			}
			unchanged(t, fx, before)
			if _, err := os.Lstat(victim); err == nil {
				t.Fatal("the archive wrote outside the FE folder")
			}
		})
	}
	corrupt := filepath.Join(t.TempDir(), "corrupt.tar.gz")
	if err := os.WriteFile(corrupt, []byte("not a tar.gz"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := testbed.Task(t, "fe-extract", "--local-path", corrupt, "--fe-dir", fx.Dir).Env(s.Env()...).Run()
	testbed.WantCode(t, r, 1)
	unchanged(t, fx, before)
}

// A wrong digest leaves nothing at the local path (and the remote file in
// place).
func TestFetchChecksumMismatch(t *testing.T) {
	t.Parallel()
	s := testbed.NewSSHD(t)
	remote := filepath.Join(t.TempDir(), "fe.tar.gz")
	if err := os.WriteFile(remote, bytes.Repeat([]byte("fe archive bytes "), 300000), 0o600); err != nil {
		t.Fatal(err)
	}
	local := t.TempDir()
	wrong := strings.Repeat("ab", 32)
	r := testbed.Task(t, "fe-fetch", "--remote-path", remote, "--local-path", filepath.Join(local, "fe.tar.gz"), "--sha256", wrong, "--remove-remote").
		Env(s.Env()...).Run()
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "sha256 mismatch") || !strings.Contains(r.Str("error"), "nothing written") {
		t.Fatalf("error %q", r.Str("error"))
	}
	if got := dirEntries(t, local); len(got) != 0 {
		t.Fatalf("a refused download left %v", got)
	}
	if _, err := os.Stat(remote); err != nil {
		t.Fatalf("the remote file was removed after a failed fetch: %v", err)
	}
	nf := testbed.Task(t, "fe-fetch", "--remote-path", remote+".nope", "--local-path", filepath.Join(local, "x")).Env(s.Env()...).Run()
	testbed.WantCode(t, nf, 1)
	if !strings.Contains(nf.Str("error"), "no such file") {
		t.Fatalf("error %q", nf.Str("error"))
	}
}

// A connection dropped, or silently dead, in the middle of a download
// fails the fetch and leaves no file (the in-process server injects it).
func TestFetchBrokenConnection(t *testing.T) {
	t.Parallel()
	remote := filepath.Join(t.TempDir(), "fe.tar.gz")
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	if err := os.WriteFile(remote, data, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	keyPEM, _, err := testbed.NewClientKey("")
	if err != nil {
		t.Fatal(err)
	}
	key := filepath.Join(t.TempDir(), "id")
	if err := os.WriteFile(key, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, mode := range []string{"drop", "stall"} {
		t.Run(mode, func(t *testing.T) {
			f := startFaultServer(t, mode, 2<<20)
			local := t.TempDir()
			start := time.Now()
			r := testbed.Task(t, "fe-fetch", "--remote-path", remote, "--local-path", filepath.Join(local, "fe.tar.gz"),
				"--sha256", hex.EncodeToString(sum[:]), "--keepalive", "300ms").
				Env("SRB_SSH_HOST=127.0.0.1", "SRB_SSH_PORT="+strconv.Itoa(f.Port), "SRB_SSH_USER=backup", "SRB_SSH_KEY_FILE="+key, "SRB_SSH_KNOWN_HOSTS="+f.KnownHosts).
				Timeout(time.Minute).Run()
			testbed.WantCode(t, r, 1)
			if !strings.Contains(r.Str("error"), "connection lost") {
				t.Fatalf("error %q", r.Str("error"))
			}
			if got := dirEntries(t, local); len(got) != 0 {
				t.Fatalf("a broken download left %v", got)
			}
			if mode == "stall" && time.Since(start) > 20*time.Second {
				t.Fatalf("a dead link took %v to notice", time.Since(start))
			}
		})
	}
}

// --reset-election-group sets the setting once, replacing an existing
// line, also when run again, and also when the archive has no conf/.
func TestResetElectionGroup(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	confPath := filepath.Join(fx.Dir, "conf", "fe.conf")
	conf, _ := os.ReadFile(confPath)
	if err := os.WriteFile(confPath, append(conf, []byte("bdbje_reset_election_group=false\n")...), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(confPath, 0o640); err != nil { // kept by archive, extract and the edit
		t.Fatal(err)
	}
	local := archiveAndFetch(t, s, fx)
	check := func() {
		t.Helper()
		b, err := os.ReadFile(confPath)
		if err != nil {
			t.Fatal(err)
		}
		var active []string
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(strings.TrimSpace(l), "bdbje_reset_election_group") {
				active = append(active, l)
			}
		}
		if strings.Join(active, "|") != "bdbje_reset_election_group = true" || !strings.Contains(string(b), "# bdbje_reset_election_group = false") ||
			!strings.Contains(string(b), "edit_log_port = 9010") {
			t.Fatalf("fe.conf after --reset-election-group:\n%s", b)
		}
		if fi, _ := os.Stat(confPath); fi.Mode().Perm() != 0o640 {
			t.Fatalf("fe.conf mode %v", fi.Mode().Perm())
		}
	}
	for i := 0; i < 2; i++ {
		r := testbed.Task(t, "fe-extract", "--local-path", local, "--fe-dir", fx.Dir, "--reset-election-group", "--fe-ports", "none").
			Env(s.Env()...).Run()
		testbed.WantCode(t, r, 0)
		if r.Fields["reset_election_group"] != true || !r.HasLog("info", "check it is LEADER") {
			t.Fatalf("result %s", r.Line)
		}
		check()
		time.Sleep(1100 * time.Millisecond) // a new timestamp for the next run's previous copies
	}
	// An archive of meta/ only: the setting goes into the FE folder's own fe.conf.
	remote := filepath.Join(t.TempDir(), "meta.tar.gz")
	testbed.WantCode(t, testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", remote, "--include", "meta").Env(s.Env()...).Run(), 0)
	if err := os.WriteFile(confPath, conf, 0o640); err != nil {
		t.Fatal(err)
	}
	r := testbed.Task(t, "fe-extract", "--local-path", remote, "--fe-dir", fx.Dir, "--reset-election-group", "--fe-ports", "none").Env(s.Env()...).Run()
	testbed.WantCode(t, r, 0)
	b, _ := os.ReadFile(confPath)
	if !strings.HasSuffix(string(b), "\nbdbje_reset_election_group = true\n") {
		t.Fatalf("fe.conf:\n%s", b)
	}
}

// Bad flags and configuration exit 2 before any work; secrets are never
// printed, even in the error.
func TestBadUsageExits2(t *testing.T) {
	t.Parallel()
	s := testbed.NewSSHD(t)
	archive := filepath.Join(t.TempDir(), "a.tar.gz")
	if err := os.WriteFile(archive, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	keyPEM, _, err := testbed.NewClientKey("secret passphrase")
	if err != nil {
		t.Fatal(err)
	}
	enc := filepath.Join(t.TempDir(), "enc")
	if err := os.WriteFile(enc, keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		task string
		args []string
		env  []string
		want string
	}{
		{"fe-archive", nil, s.Env(), "fe-dir"},
		{"fe-archive", []string{"--fe-dir", "relative/fe"}, s.Env(), "absolute path"},
		{"fe-archive", []string{"--fe-dir", "/opt/fe", "--include", "../etc"}, s.Env(), "leaves the FE folder"},
		{"fe-archive", []string{"--fe-dir", "/opt/fe", "--gzip-level", "11"}, s.Env(), "gzip-level"},
		{"fe-archive", []string{"--fe-dir", "/opt/fe", "--password", "hunter2"}, s.Env(), "password"},
		{"fe-archive", []string{"--fe-dir", "/opt/fe"}, []string{"SRB_SSH_HOST=127.0.0.1", "SRB_SSH_USER=root", "SRB_SSH_KNOWN_HOSTS=" + s.KnownHosts}, "no SSH credentials"},
		{"fe-archive", []string{"--fe-dir", "/opt/fe", "--key-file", enc}, s.Env(), "is encrypted"},
		{"fe-archive", []string{"--fe-dir", "/opt/fe", "--key-file", enc}, append(s.Env(), "SRB_SSH_PRIVATE_KEY_PASSPHRASE=wrong one"), "wrong passphrase"},
		{"fe-archive", []string{"--fe-dir", "/opt/fe", "--known-hosts", "/nonexistent"}, s.Env(), "known-hosts"},
		{"fe-archive", []string{"--fe-dir", "/opt/fe", "--insecure-ignore-host-key", "--host-key", s.HostKey}, s.Env(), "cannot be combined"},
		{"fe-archive", []string{"--fe-dir", "/opt/fe"}, []string{"SRB_SSH_CONN=ssh://root:p%40ss-word-9@127.0.0.1:22?no_host_key_check=true&host_key=AAAA"}, "must be checked"},
		{"fe-fetch", []string{"--remote-path", "/tmp/x", "--local-path", "/nonexistent-dir/x"}, s.Env(), "does not exist"},
		{"fe-fetch", []string{"--remote-path", "/tmp/x", "--local-path", filepath.Join(t.TempDir(), "x"), "--sha256", "abc"}, s.Env(), "not a hex SHA-256"},
		{"fe-extract", []string{"--local-path", "/nonexistent.tar.gz", "--fe-dir", "/opt/fe"}, s.Env(), "no such file"},
		{"fe-extract", []string{"--local-path", archive, "--fe-dir", "/opt/fe", "--fe-ports", "9010,http"}, s.Env(), "not a port"},
		{"fe-extract", []string{"--local-path", archive, "--fe-dir", "/opt/fe", "--port", "99999"}, s.Env(), "out of range"},
	}
	for _, c := range cases {
		t.Run(c.task+" "+c.want, func(t *testing.T) {
			r := testbed.Task(t, c.task, c.args...).Env(c.env...).Secrets("secret passphrase", "wrong one", "p@ss-word-9", "hunter2").Run()
			testbed.WantCode(t, r, 2)
			if !strings.Contains(r.Str("error"), c.want) {
				t.Fatalf("error %q lacks %q", r.Str("error"), c.want)
			}
		})
	}
}

// SIGTERM (Airflow killing the task) stops the remote tar and gzip, removes
// the temp files on the host, leaves no archive and exits 130.
func TestArchiveSIGTERMCleansUp(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	big, err := os.Create(filepath.Join(fx.Dir, "meta", "bdb", "00000010.jdb"))
	if err != nil {
		t.Fatal(err)
	}
	rnd, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	_, err = io.CopyN(big, rnd, 256<<20) // random: gzip takes seconds on it
	rnd.Close()
	big.Close()
	if err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	// The signal comes once the run's temp tar exists on the host.
	building := func() bool {
		m, _ := filepath.Glob(filepath.Join(out, ".fe.tar.gz.tmp-*", "fe.tar"))
		return len(m) > 0
	}
	r := testbed.Task(t, "fe-archive", "--fe-dir", fx.Dir, "--remote-archive", filepath.Join(out, "fe.tar.gz"), "--gzip-jobs", "1").
		Env(s.Env()...).RunSignalled(syscall.SIGTERM, 1, building)
	testbed.WantCode(t, r, 130)
	if got := dirEntries(t, out); len(got) != 0 {
		t.Fatalf("a killed archive left %v", got)
	}
	for i := 0; ; i++ {
		ps, _ := exec.Command("pgrep", "-f", out).Output()
		if len(bytes.TrimSpace(ps)) == 0 {
			break
		}
		if i > 50 {
			t.Fatalf("remote processes still run after SIGTERM: %s", ps)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// A restore failing after the archive was pushed and extracted (here: the
// name for the previous meta/ is taken) changes nothing and removes its
// staging folder.
func TestExtractFailureRemovesStaging(t *testing.T) {
	t.Parallel()
	s, fx, _ := feSetup(t)
	local := archiveAndFetch(t, s, fx)
	now := time.Now().UTC()
	for i := 0; i < 30; i++ {
		taken := filepath.Join(fx.Dir, "meta.before-restore-"+now.Add(time.Duration(i)*time.Second).Format("20060102T150405Z"))
		if err := os.Mkdir(taken, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	before, err := testbed.TreeDigest(filepath.Dir(fx.Dir))
	if err != nil {
		t.Fatal(err)
	}
	r := testbed.Task(t, "fe-extract", "--local-path", local, "--fe-dir", fx.Dir, "--fe-ports", "none").Env(s.Env()...).Run()
	testbed.WantCode(t, r, 1)
	if !strings.Contains(r.Str("error"), "already exists") {
		t.Fatalf("error %q", r.Str("error"))
	}
	unchanged(t, fx, before)
}
