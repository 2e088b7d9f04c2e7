// Command sshd starts the test bed's OpenSSH server (pkg/testbed) for the
// benchmark and for trying the FE tasks by hand, optionally with a
// StarRocks-like FE folder, writes the variables that point the tasks at it
// to an env file, and runs until SIGTERM or SIGINT.
//
//	go run ./bench/fe/sshd -dir /tmp/srb-sshd -env /tmp/srb-sshd.env -fixture /tmp/fe
package main

import (
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/starrocks-backup/srbackup/pkg/testbed"
)

func main() {
	dir := flag.String("dir", "", "folder for the server's config, keys and log (created)")
	envFile := flag.String("env", "", "write SRB_SSH_HOST, SRB_SSH_PORT, SRB_SSH_USER, SRB_SSH_KEY_FILE, SRB_SSH_KNOWN_HOSTS and SSH_HOST_KEY_PINNED here")
	fixture := flag.String("fixture", "", "also write a StarRocks-like FE folder here")
	flag.Parse()
	if *dir == "" || *envFile == "" {
		fmt.Fprintln(os.Stderr, "usage: sshd -dir DIR -env FILE [-fixture FE_DIR]")
		os.Exit(2)
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		fail(err)
	}
	s, err := testbed.StartSSHD(*dir)
	if err != nil {
		fail(err)
	}
	defer s.Stop()
	if *fixture != "" {
		if _, err := testbed.WriteFEFixture(*fixture); err != nil {
			s.Stop()
			fail(err)
		}
	}
	env := append(s.Env(), "SSH_HOST_KEY_PINNED="+s.HostKey)
	if s.PasswordUser != "" {
		env = append(env, "SSH_PASSWORD_USER="+s.PasswordUser, "SSH_PASSWORD_FOR_TESTS="+s.Password)
	}
	var b strings.Builder
	for _, kv := range env { // KEY='value', for sh's "set -a; . FILE"
		k, v, _ := strings.Cut(kv, "=")
		b.WriteString(k + "='" + strings.ReplaceAll(v, "'", `'\''`) + "'\n")
	}
	if err := os.WriteFile(*envFile, []byte(b.String()), 0o600); err != nil {
		s.Stop()
		fail(err)
	}
	fmt.Printf("sshd listening on %s (env in %s)\n", s.Addr(), *envFile)
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	<-sigs
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "sshd:", err)
	os.Exit(1)
}
