package testbed

import (
	"bufio"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Berkeley DB Java Edition, the FE's journal store, from Maven Central,
// pinned by version and digest (SHA-1 as Maven Central publishes it).
const (
	JEVersion = "18.3.12"
	JEURL     = "https://repo1.maven.org/maven2/com/sleepycat/je/" + JEVersion + "/je-" + JEVersion + ".jar"
	JESHA256  = "0a42bb7d53c0cfa7e445eb57bc2bf74fedbb8d22d7216a12dafa2a3aefe5c73e"
	JESHA1    = "0a41b84d1bf41c5d24417a8045c6ee88fde1ece9"
)

// jeLoadSource is the busy-FE writer and copy verifier (je/JeLoad.java).
//
//go:embed je/JeLoad.java
var jeLoadSource []byte

// JE runs je/JeLoad.java against the pinned JE jar.
type JE struct{ classpath string }

// NewJE returns the JE tools, downloading the jar into the cache and
// compiling JeLoad.java when needed. It needs a JDK (javac and java,
// Debian's openjdk-17-jdk-headless): without one the test fails.
func NewJE(t testing.TB) *JE {
	t.Helper()
	for _, tool := range []string{"javac", "java"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("testbed: %s is missing: install a JDK (apt-get install openjdk-17-jdk-headless)", tool)
		}
	}
	cache, err := CacheDir()
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(cache, "je")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	jar, err := ensureOnce(filepath.Join(dir, "je-"+JEVersion+".jar"), "je.lock", func() error { return downloadJE(dir) })
	if err != nil {
		t.Fatalf("testbed: %v", err)
	}
	sum := sha256.Sum256(jeLoadSource)
	classes := filepath.Join(dir, "classes-"+hex.EncodeToString(sum[:6]))
	if _, err := ensureOnce(filepath.Join(classes, "JeLoad.class"), "je.lock", func() error { return compileJeLoad(jar, classes) }); err != nil {
		t.Fatalf("testbed: %v", err)
	}
	return &JE{classpath: jar + string(os.PathListSeparator) + classes}
}

// downloadJE fetches the jar with curl and keeps it only when its SHA-256
// and SHA-1 are the pinned ones.
func downloadJE(dir string) error {
	tmp := filepath.Join(dir, ".je-download")
	defer os.Remove(tmp)
	if out, err := exec.Command("curl", "-sSfL", "--retry", "3", "-o", tmp, JEURL).CombinedOutput(); err != nil {
		return fmt.Errorf("download %s: %v: %s", JEURL, err, out)
	}
	f, err := os.Open(tmp)
	if err != nil {
		return err
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil {
		return err
	}
	if got := hex.EncodeToString(h.Sum(nil)); got != JESHA256 {
		return fmt.Errorf("%s has sha256 %s, pinned %s", JEURL, got, JESHA256)
	}
	out, err := exec.Command("sha1sum", tmp).Output()
	if err != nil || !strings.HasPrefix(string(out), JESHA1) {
		return fmt.Errorf("%s: sha1 %q, pinned %s (%v)", JEURL, out, JESHA1, err)
	}
	return os.Rename(tmp, filepath.Join(dir, "je-"+JEVersion+".jar"))
}

func compileJeLoad(jar, classes string) error {
	tmp, err := os.MkdirTemp(filepath.Dir(classes), ".classes-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	src := filepath.Join(tmp, "JeLoad.java")
	if err := os.WriteFile(src, jeLoadSource, 0o644); err != nil {
		return err
	}
	if out, err := exec.Command("javac", "-cp", jar, "-d", tmp, src).CombinedOutput(); err != nil {
		return fmt.Errorf("javac JeLoad.java: %v: %s", err, out)
	}
	if err := os.Remove(src); err != nil {
		return err
	}
	return os.Rename(tmp, classes)
}

func (j *JE) command(args ...string) *exec.Cmd {
	return exec.Command("java", append([]string{"-Xmx256m", "-cp", j.classpath, "JeLoad"}, args...)...)
}

// Load starts a writer on the JE environment in dir (created when
// missing) for at most seconds, writing mbPerSec MB of journal a second
// in 1 MB .jdb files, and returns once it writes. It is stopped at the
// test's end.
func (j *JE) Load(t testing.TB, dir string, seconds int, mbPerSec float64) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := j.command("load", dir, strconv.Itoa(seconds), strconv.FormatFloat(mbPerSec, 'f', -1, 64))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Signal(syscall.SIGTERM); _ = cmd.Wait() })
	ready := make(chan bool, 1)
	go func() {
		line, _ := bufio.NewReader(out).ReadString('\n')
		ready <- strings.TrimSpace(line) == "loading"
		_, _ = io.Copy(io.Discard, out)
	}()
	select {
	case ok := <-ready:
		if !ok {
			t.Fatalf("testbed: JeLoad did not start: %s", stderr.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("testbed: JeLoad did not start within a minute")
	}
}

// Verify opens the JE environment in dir as a restored FE does (JE
// recovery), verifies its B-tree and reads every record, checking each
// record's CRC. It returns JeLoad's one-line verdict; err is set when the
// copy is not sound.
func (j *JE) Verify(dir string) (string, error) {
	out, err := j.command("verify", dir).CombinedOutput()
	verdict := strings.TrimSpace(string(out))
	if err != nil {
		return verdict, fmt.Errorf("JE copy in %s is not sound: %s", dir, verdict)
	}
	return verdict, nil
}
