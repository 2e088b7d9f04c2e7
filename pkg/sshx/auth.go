package sshx

import (
	"errors"
	"net"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"

	"github.com/starrocks-backup/srbackup/pkg/conn"
	"github.com/starrocks-backup/srbackup/pkg/localfile"
	"github.com/starrocks-backup/srbackup/pkg/secret"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// resolveAuth builds the authentication methods, in the order the server
// is offered them: public keys (key file, SSH_PRIVATE_KEY or the
// connection's private_key, then the agent's keys), then the password.
func resolveAuth(cfg *Config, o Options, c *conn.Connection, getenv func(string) string) error {
	passphrase, err := secret.LookupFrom(getenv, EnvPassphrase)
	if err != nil {
		return err
	}
	if passphrase == "" {
		passphrase = c.String("private_key_passphrase")
	}
	var signers []ssh.Signer

	keyFile, keyFrom := o.KeyFile, "--key-file"
	if keyFile == "" {
		keyFile, keyFrom = c.String("key_file"), "the connection's key_file"
	}
	if keyFile != "" {
		keyFile = expandHome(getenv, keyFile)
		b, err := os.ReadFile(keyFile)
		if err != nil {
			return usage.Errorf("%s %s: cannot read the private key: %s", keyFrom, keyFile, localfile.Reason(err))
		}
		registerKey(string(b))
		s, err := parseKey("key file "+keyFile, b, passphrase)
		if err != nil {
			return err
		}
		signers = append(signers, s)
		cfg.AuthNames = append(cfg.AuthNames, "key file "+keyFile)
	}

	pk, err := secret.LookupFrom(getenv, EnvPrivateKey)
	if err != nil {
		return err
	}
	pkFrom := EnvPrivateKey
	if pk == "" {
		pk, pkFrom = c.String("private_key"), "the connection's private_key"
	}
	if pk != "" {
		pk = normalizeKeyText(pk)
		registerKey(pk)
		s, err := parseKey(pkFrom, []byte(pk), passphrase)
		if err != nil {
			return err
		}
		signers = append(signers, s)
		cfg.AuthNames = append(cfg.AuthNames, "private key from "+pkFrom)
	}

	var agentSigners func() ([]ssh.Signer, error)
	if sock := getenv(EnvAgent); sock != "" {
		ac, err := net.Dial("unix", sock)
		if err == nil {
			client := agent.NewClient(ac)
			agentSigners = client.Signers
			cfg.agentClose = func() { ac.Close() }
			cfg.AuthNames = append(cfg.AuthNames, "ssh-agent")
		} else if len(signers) == 0 {
			return usage.Errorf("ssh-agent at %s=%s is unreachable: %v", EnvAgent, sock, unwrapOp(err))
		}
	}
	if len(signers) > 0 || agentSigners != nil {
		own := signers
		cfg.auth = append(cfg.auth, ssh.PublicKeysCallback(func() ([]ssh.Signer, error) {
			all := append([]ssh.Signer{}, own...)
			if agentSigners != nil {
				if as, err := agentSigners(); err == nil {
					all = append(all, as...)
				}
			}
			return all, nil
		}))
	}

	pw, err := secret.LookupFrom(getenv, EnvPassword)
	if err != nil {
		return err
	}
	pwFrom := EnvPassword
	if pw == "" {
		pw, pwFrom = c.Password, "the connection's password"
	}
	if pw != "" {
		secret.Register(pw)
		cfg.auth = append(cfg.auth, ssh.Password(pw), ssh.KeyboardInteractive(
			func(_, _ string, questions []string, echos []bool) ([]string, error) {
				answers := make([]string, len(questions))
				for i := range questions {
					if !echos[i] {
						answers[i] = pw
					}
				}
				return answers, nil
			}))
		cfg.AuthNames = append(cfg.AuthNames, "password from "+pwFrom)
	}
	if len(cfg.auth) == 0 {
		return usage.Errorf("no SSH credentials: give --key-file (SRB_SSH_KEY_FILE), a key in %s, an ssh-agent (%s), "+
			"a password in %s, or a connection in --ssh-conn (SRB_SSH_CONN)", EnvPrivateKey, EnvAgent, EnvPassword)
	}
	return nil
}

// parseKey reads an OpenSSH or PEM private key, decrypting it with the
// passphrase when it is encrypted. Errors never quote the key.
func parseKey(what string, b []byte, passphrase string) (ssh.Signer, error) {
	s, err := ssh.ParsePrivateKey(b)
	var missing *ssh.PassphraseMissingError
	switch {
	case err == nil:
		return s, nil
	case errors.As(err, &missing):
		if passphrase == "" {
			return nil, usage.Errorf("%s is encrypted: give its passphrase in %s (or the connection's private_key_passphrase)", what, EnvPassphrase)
		}
		s, err = ssh.ParsePrivateKeyWithPassphrase(b, []byte(passphrase))
		if err != nil {
			return nil, usage.Errorf("%s: cannot decrypt it with the passphrase given (wrong passphrase?)", what)
		}
		return s, nil
	default:
		msg := strings.TrimPrefix(err.Error(), "ssh: ")
		return nil, usage.Errorf("%s is not a private key this tool can read: %s", what, secret.Mask(msg))
	}
}

// normalizeKeyText accepts a key pasted with literal "\n" sequences (as
// happens in connection extras) and surrounding blanks.
func normalizeKeyText(k string) string {
	k = strings.TrimSpace(k)
	if !strings.Contains(k, "\n") && strings.Contains(k, `\n`) {
		k = strings.ReplaceAll(k, `\n`, "\n")
	}
	return strings.ReplaceAll(k, "\r\n", "\n") + "\n"
}

func unwrapOp(err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Err != nil {
		return op.Err
	}
	return err
}
