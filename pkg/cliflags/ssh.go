package cliflags

import (
	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/sshx"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

// SSH declares the flags of one SSH host, bound to o. Their variables share
// the SRB_SSH_ prefix (--host is SRB_SSH_HOST, --ssh-conn is SRB_SSH_CONN).
// Secrets have no flag: see SSHCredentials.
func SSH(o *sshx.Options) []cli.Flag {
	env := func(f string) []string { return []string{taskrun.EnvPrefixed("SSH", f)} }
	return []cli.Flag{
		&cli.StringFlag{Name: "host", EnvVars: env("host"), Destination: &o.Host,
			Usage: "SSH host of the FE (default: the connection's host)"},
		&cli.IntFlag{Name: "port", EnvVars: env("port"), Destination: &o.Port, DefaultText: "22, or the connection's port",
			Usage: "SSH port"},
		&cli.StringFlag{Name: "user", EnvVars: env("user"), Destination: &o.User,
			Usage: "SSH user (default: the connection's login)"},
		&cli.StringFlag{Name: "key-file", EnvVars: env("key-file"), Destination: &o.KeyFile,
			Usage: "private key file (OpenSSH or PEM; its passphrase, if any, in " + sshx.EnvPassphrase + ")"},
		&cli.StringFlag{Name: "known-hosts", EnvVars: env("known-hosts"), Destination: &o.KnownHosts, DefaultText: "~/.ssh/known_hosts",
			Usage: "known_hosts file the host key is checked against ([host]:port entries for ports other than 22)"},
		&cli.StringFlag{Name: "host-key", EnvVars: env("host-key"), Destination: &o.HostKey,
			Usage: `pinned host key instead of known_hosts: "ssh-ed25519 AAAA...", its base64 part (as Airflow's host_key), or SHA256:<fingerprint>`},
		&cli.BoolFlag{Name: "insecure-ignore-host-key", EnvVars: env("insecure-ignore-host-key"), Destination: &o.InsecureIgnoreHostKey,
			Usage: "do not verify the host key (logs a warning on every run; prefer --host-key)"},
		&cli.StringFlag{Name: "ssh-conn", EnvVars: env("conn"), Destination: &o.Conn,
			Usage: "Airflow ssh connection: URI, JSON, or a connection id defined as AIRFLOW_CONN_<ID>; honours key_file, private_key, " +
				"private_key_passphrase, host_key, no_host_key_check, conn_timeout, cmd_timeout; flags given explicitly win; " +
				"give it through the variable, not the command line (it may hold secrets)"},
		&cli.DurationFlag{Name: "connect-timeout", EnvVars: env("connect-timeout"), Destination: &o.ConnectTimeout,
			DefaultText: sshx.DefaultConnectTimeout.String() + ", or the connection's conn_timeout",
			Usage:       "time allowed to connect and authenticate"},
		&cli.DurationFlag{Name: "command-timeout", EnvVars: env("command-timeout"), Destination: &o.CommandTimeout,
			DefaultText: sshx.DefaultCommandTimeout.String() + ", or the connection's cmd_timeout",
			Usage:       "time allowed to each remote command (negative: no limit)"},
		&cli.DurationFlag{Name: "keepalive", EnvVars: env("keepalive"), Value: sshx.DefaultKeepAlive, Destination: &o.KeepAlive,
			Usage: "interval of SSH keepalives; 3 unanswered in a row end the connection (0: off)"},
	}
}

// SSHCredentials describes, for a task's help text, where SSH credentials
// come from.
func SSHCredentials() string {
	return "SSH credentials come from --key-file (" + taskrun.EnvPrefixed("SSH", "key-file") + "), a private key in " +
		sshx.EnvPrivateKey + " (passphrase in " + sshx.EnvPassphrase + "), an ssh-agent (" + sshx.EnvAgent + "), a password in " +
		sshx.EnvPassword + ", or the --ssh-conn connection; each secret variable may instead name a file in <NAME>_FILE. " +
		"Never from a flag. The host key is verified against --known-hosts or --host-key unless --insecure-ignore-host-key."
}
