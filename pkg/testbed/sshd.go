package testbed

import (
	"bufio"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// SSHDPath is where Debian's openssh-server puts the server.
const SSHDPath = "/usr/sbin/sshd"

// SSHD is a real OpenSSH server on a loopback port, with its own host key,
// a client key authorized for the current user (root in CI), a known_hosts
// file naming the server, and, when the tests run as root, a dedicated
// local user that logs in with a password.
type SSHD struct {
	Dir  string // config, keys and log
	Host string // 127.0.0.1
	Port int
	// User logs in with KeyFile: the user running the tests.
	User    string
	KeyFile string // client private key (ed25519, OpenSSH format, no passphrase)
	// PublicKey is KeyFile's public key, as an authorized_keys line.
	PublicKey string
	// KnownHosts is a known_hosts file with the "[127.0.0.1]:port" entry.
	KnownHosts string
	// HostKey is the server's public key, "ssh-ed25519 AAAA...".
	HostKey string
	// PasswordUser logs in with Password; both are "" unless the tests run
	// as root (creating a user needs root). The user is deleted by Stop.
	PasswordUser string
	Password     string

	hostSigner ssh.Signer
	p          *proc
}

// Addr returns host:port.
func (s *SSHD) Addr() string { return net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) }

// HostKeyBase64 returns the host key's base64 blob, as Airflow's
// host_key extra stores it.
func (s *SSHD) HostKeyBase64() string {
	return base64.StdEncoding.EncodeToString(s.hostSigner.PublicKey().Marshal())
}

// Env returns the variables that point the SSH flags of a task at this
// server with key authentication and host-key checking.
func (s *SSHD) Env() []string {
	return []string{
		"SRB_SSH_HOST=" + s.Host, "SRB_SSH_PORT=" + strconv.Itoa(s.Port), "SRB_SSH_USER=" + s.User,
		"SRB_SSH_KEY_FILE=" + s.KeyFile, "SRB_SSH_KNOWN_HOSTS=" + s.KnownHosts,
	}
}

// PasswordEnv returns the variables for a password login as PasswordUser.
func (s *SSHD) PasswordEnv() []string {
	return []string{
		"SRB_SSH_HOST=" + s.Host, "SRB_SSH_PORT=" + strconv.Itoa(s.Port), "SRB_SSH_USER=" + s.PasswordUser,
		"SRB_SSH_PASSWORD=" + s.Password, "SRB_SSH_KNOWN_HOSTS=" + s.KnownHosts,
	}
}

// ConnURI returns an Airflow ssh connection URI for this server: the key
// file and the pinned host key in the extras.
func (s *SSHD) ConnURI() string {
	q := url.Values{}
	q.Set("key_file", s.KeyFile)
	q.Set("host_key", s.HostKeyBase64())
	return fmt.Sprintf("ssh://%s@%s/?%s", url.PathEscape(s.User), s.Addr(), q.Encode())
}

// LogTail returns the end of the server's log.
func (s *SSHD) LogTail() string { return s.p.tail() }

// EnsureSSHD returns the path of the OpenSSH server, installing Debian's
// openssh-server with apt-get when it is missing. Installing needs root;
// without it a missing server is an error, never a skip.
func EnsureSSHD() (string, error) {
	if _, err := os.Stat(SSHDPath); err == nil {
		return SSHDPath, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("testbed: %s is missing and installing openssh-server needs root: run `apt-get install openssh-server` as root", SSHDPath)
	}
	return ensureOnce(SSHDPath, "apt.lock", installOpenSSHServer)
}

// installOpenSSHServer installs Debian's openssh-server with apt-get.
func installOpenSSHServer() error {
	// Keep the package's scripts from starting a system-wide sshd.
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(policy); errors.Is(err, os.ErrNotExist) {
		if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err == nil {
			defer os.Remove(policy)
		}
	}
	env := append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
	install := func() ([]byte, error) {
		cmd := exec.Command("apt-get", "install", "-y", "--no-install-recommends", "openssh-server")
		cmd.Env = env
		return cmd.CombinedOutput()
	}
	if _, err := install(); err != nil {
		upd := exec.Command("apt-get", "update")
		upd.Env = env
		if out, err := upd.CombinedOutput(); err != nil {
			return fmt.Errorf("testbed: apt-get update: %v\n%s", err, tailBytes(out))
		}
		if out, err := install(); err != nil {
			return fmt.Errorf("testbed: apt-get install openssh-server: %v\n%s", err, tailBytes(out))
		}
	}
	return nil
}

func tailBytes(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

// NewSSHD starts an sshd for a test and stops it at the test's end.
func NewSSHD(t testing.TB) *SSHD {
	t.Helper()
	s, err := StartSSHD(t.TempDir())
	if err != nil {
		t.Fatalf("testbed: cannot start sshd: %v", err)
	}
	t.Cleanup(s.Stop)
	return s
}

// StartSSHD starts an sshd keeping its configuration, keys and log under
// dir, on a free loopback port.
func StartSSHD(dir string) (*SSHD, error) {
	bin, err := EnsureSSHD()
	if err != nil {
		return nil, err
	}
	u, err := user.Current()
	if err != nil {
		return nil, err
	}
	s := &SSHD{Dir: dir, Host: "127.0.0.1", User: u.Username}
	hostPEM, hostSigner, err := newKey()
	if err != nil {
		return nil, err
	}
	s.hostSigner = hostSigner
	s.HostKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(hostSigner.PublicKey())))
	clientPEM, clientSigner, err := newKey()
	if err != nil {
		return nil, err
	}
	s.PublicKey = strings.TrimSpace(string(ssh.MarshalAuthorizedKey(clientSigner.PublicKey())))
	s.KeyFile = filepath.Join(dir, "id_ed25519")
	hostKeyFile := filepath.Join(dir, "ssh_host_ed25519_key")
	for _, f := range []struct {
		path string
		data []byte
	}{
		{hostKeyFile, hostPEM},
		{s.KeyFile, clientPEM},
		{filepath.Join(dir, "authorized_keys"), []byte(s.PublicKey + "\n")},
	} {
		if err := os.WriteFile(f.path, f.data, 0o600); err != nil {
			return nil, err
		}
	}
	if os.Geteuid() == 0 {
		if err := os.MkdirAll("/run/sshd", 0o755); err != nil {
			return nil, err
		}
		if err := s.addPasswordUser(); err != nil {
			return nil, err
		}
	}
	var lastErr error
	for attempt := 0; attempt < 5; attempt++ {
		if s.Port, err = FreePort(); err != nil {
			return nil, err
		}
		if lastErr = s.start(bin, hostKeyFile); lastErr == nil {
			break
		}
	}
	if lastErr != nil {
		s.deleteUser()
		return nil, lastErr
	}
	s.KnownHosts = filepath.Join(dir, "known_hosts")
	line := knownhosts.Line([]string{s.Addr()}, hostSigner.PublicKey())
	if err := os.WriteFile(s.KnownHosts, []byte(line+"\n"), 0o644); err != nil {
		s.Stop()
		return nil, err
	}
	return s, nil
}

func (s *SSHD) start(bin, hostKeyFile string) error {
	sftpServer := "internal-sftp"
	if _, err := os.Stat("/usr/lib/openssh/sftp-server"); err == nil {
		sftpServer = "/usr/lib/openssh/sftp-server" // what a Debian FE host runs
	}
	cfg := strings.Join([]string{
		"Port " + strconv.Itoa(s.Port),
		"ListenAddress 127.0.0.1",
		"HostKey " + hostKeyFile,
		"PidFile " + filepath.Join(s.Dir, "sshd.pid"),
		"AuthorizedKeysFile " + filepath.Join(s.Dir, "authorized_keys"),
		"StrictModes no",
		"UsePAM no",
		"PermitRootLogin yes",
		"PubkeyAuthentication yes",
		"PasswordAuthentication yes",
		"KbdInteractiveAuthentication no",
		"PermitEmptyPasswords no",
		"MaxStartups 100:30:200",
		"MaxSessions 100",
		"MaxAuthTries 10",
		"UseDNS no",
		"PrintMotd no",
		"LogLevel VERBOSE",
		"Subsystem sftp " + sftpServer,
		"",
	}, "\n")
	cfgFile := filepath.Join(s.Dir, "sshd_config")
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		return err
	}
	p, err := startProc(filepath.Join(s.Dir, "sshd.log"), nil, bin, "-D", "-e", "-f", cfgFile)
	if err != nil {
		return err
	}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.exited:
			return fmt.Errorf("sshd exited at start:\n%s", p.tail())
		default:
		}
		if banner(s.Addr()) {
			s.p = p
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop()
	return fmt.Errorf("sshd not ready after 15s:\n%s", p.tail())
}

// banner reports whether an SSH server answers at addr.
func banner(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(2 * time.Second))
	line, err := bufio.NewReader(c).ReadString('\n')
	return err == nil && strings.HasPrefix(line, "SSH-2.0-")
}

// Stop stops the server and deletes the password user.
func (s *SSHD) Stop() {
	s.p.stop()
	s.p = nil
	s.deleteUser()
}

// newKey returns a new ed25519 private key in OpenSSH PEM form and its signer.
func newKey() ([]byte, ssh.Signer, error) {
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, "srbackup-testbed")
	if err != nil {
		return nil, nil, err
	}
	signer, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(block), signer, nil
}

// NewClientKey returns a new ed25519 client key: the private key in
// OpenSSH PEM form (encrypted when passphrase is not empty) and its
// authorized_keys line. Tests use it for wrong keys and encrypted keys.
func NewClientKey(passphrase string) (privatePEM []byte, authorizedKey string, err error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, "", err
	}
	var block *pem.Block
	if passphrase == "" {
		block, err = ssh.MarshalPrivateKey(priv, "srbackup-testbed")
	} else {
		block, err = ssh.MarshalPrivateKeyWithPassphrase(priv, "srbackup-testbed", []byte(passphrase))
	}
	if err != nil {
		return nil, "", err
	}
	sp, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, "", err
	}
	return pem.EncodeToMemory(block), strings.TrimSpace(string(ssh.MarshalAuthorizedKey(sp))), nil
}

// Authorize adds a public key (authorized_keys line) to the server's
// authorized keys; sshd reads the file at each login.
func (s *SSHD) Authorize(authorizedKey string) error {
	f, err := os.OpenFile(filepath.Join(s.Dir, "authorized_keys"), os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.WriteString(authorizedKey + "\n")
	return err
}

// passwordUserPrefix names the local users the test bed creates; stale
// ones (whose home folder is gone) are deleted at the next start.
const passwordUserPrefix = "srbt"

func randomString(n int) string {
	const chars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		k, _ := rand.Int(rand.Reader, big.NewInt(int64(len(chars))))
		b[i] = chars[k.Int64()]
	}
	return string(b)
}

// addPasswordUser creates a local user with a random password whose home
// folder is in the test bed's folder.
func (s *SSHD) addPasswordUser() error {
	removeStaleUsers()
	name := passwordUserPrefix + strings.ToLower(randomString(8))
	home := filepath.Join(s.Dir, "home")
	if err := os.MkdirAll(home, 0o755); err != nil {
		return err
	}
	if out, err := exec.Command("useradd", "-M", "-N", "-d", home, "-s", "/bin/sh", name).CombinedOutput(); err != nil {
		return fmt.Errorf("testbed: useradd %s: %v: %s", name, err, out)
	}
	s.PasswordUser = name
	s.Password = randomString(24)
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(name + ":" + s.Password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		s.deleteUser()
		return fmt.Errorf("testbed: chpasswd: %v: %s", err, out)
	}
	if u, err := user.Lookup(name); err == nil {
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		_ = os.Chown(home, uid, gid)
	}
	return nil
}

func (s *SSHD) deleteUser() {
	if s.PasswordUser == "" {
		return
	}
	_ = exec.Command("userdel", s.PasswordUser).Run()
	s.PasswordUser, s.Password = "", ""
}

// removeStaleUsers deletes test-bed users left by killed test runs.
func removeStaleUsers() {
	b, err := os.ReadFile("/etc/passwd")
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if len(f) < 6 || !strings.HasPrefix(f[0], passwordUserPrefix) || !strings.Contains(f[5], "/") {
			continue
		}
		if _, err := os.Stat(f[5]); errors.Is(err, os.ErrNotExist) {
			_ = exec.Command("userdel", f[0]).Run()
		}
	}
}
