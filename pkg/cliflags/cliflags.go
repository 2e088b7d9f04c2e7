// Package cliflags declares the flag groups several tasks share (an S3
// endpoint, an S3 transfer, an SSH host), bound to the option structs of
// the packages that use them. It is the only package besides pkg/taskrun
// that knows the CLI library; the logic packages do not.
package cliflags

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/bytesize"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/s3xfer"
	"github.com/starrocks-backup/srbackup/pkg/taskrun"
)

// S3Endpoint declares the flags of one S3 endpoint. With side "" they are
// --endpoint, --region, --conn, --insecure (variables SRB_S3_ENDPOINT, ...)
// and the credentials SRB_S3_ACCESS_KEY/SRB_S3_SECRET_KEY. With side
// "source" they are --source-endpoint, ... (SRB_SOURCE_ENDPOINT, ...) and
// the credentials SRB_SOURCE_ACCESS_KEY/SRB_SOURCE_SECRET_KEY.
func S3Endpoint(side string, in *s3conf.Input) []cli.Flag {
	name := func(f string) string {
		if side == "" {
			return f
		}
		return side + "-" + f
	}
	group := strings.ToUpper(side)
	if side == "" {
		group = "S3"
	}
	env := func(f string) []string { return []string{taskrun.EnvPrefixed(group, f)} }
	in.CredEnv = taskrun.EnvName(group)
	what := "the S3 endpoint"
	if side != "" {
		what = "the " + side + "'s S3 endpoint"
	}
	return []cli.Flag{
		&cli.StringFlag{Name: name("endpoint"), EnvVars: env("endpoint"), Destination: &in.Endpoint,
			Usage: "URL of " + what + ", e.g. http://minio:9000 (path-style); empty for AWS S3"},
		&cli.StringFlag{Name: name("region"), EnvVars: env("region"), Destination: &in.Region,
			Usage: "region (default: the connection's region_name, AWS_REGION, or " + s3conf.DefaultRegion + ")"},
		&cli.StringFlag{Name: name("conn"), EnvVars: env("conn"), Destination: &in.Conn,
			Usage: "Airflow connection for " + what + ": URI, JSON, or a connection id defined as AIRFLOW_CONN_<ID>; " +
				"give it through the variable, not the command line (it holds secrets)"},
		&cli.BoolFlag{Name: name("insecure"), EnvVars: env("insecure"), Destination: &in.Insecure,
			Usage: "do not verify TLS certificates"},
	}
}

// S3Credentials describes, for a task's help text, where the credentials of
// the endpoint declared by S3Endpoint(side, ...) come from.
func S3Credentials(side string) string {
	group := strings.ToUpper(side)
	if side == "" {
		group = "S3"
	}
	vars := fmt.Sprintf("%[1]s_ACCESS_KEY, %[1]s_SECRET_KEY and %[1]s_SESSION_TOKEN", taskrun.EnvName(group))
	return "Credentials come from " + vars + " (each may instead name a file in <NAME>_FILE), " +
		"else from the connection, else from the AWS chain (AWS_ACCESS_KEY_ID, profile, web identity, instance role). Never from a flag."
}

// Transfer declares the object and tuning flags of s3-upload and s3-download.
func Transfer(t *s3xfer.Transfer) []cli.Flag {
	t.PartSize, t.Concurrency = s3xfer.DefaultPartSize, s3xfer.DefaultConcurrency
	env := func(f string) []string { return []string{taskrun.EnvPrefixed("S3", f)} }
	return []cli.Flag{
		&cli.StringFlag{Name: "bucket", EnvVars: env("bucket"), Required: true, Destination: &t.Bucket, Usage: "bucket"},
		&cli.StringFlag{Name: "key", EnvVars: env("key"), Destination: &t.Key, Usage: "object key"},
		&cli.GenericFlag{Name: "part-size", EnvVars: env("part-size"), Value: (*Size)(&t.PartSize),
			Usage: "multipart part size (5MiB-5GiB; larger when a file would need over 10,000 parts); parts are read from and written to the file in place, so memory does not grow with it"},
		&cli.IntFlag{Name: "concurrency", EnvVars: env("concurrency"), Value: t.Concurrency, Destination: &t.Concurrency,
			Usage: "parts transferred at once"},
		&cli.StringFlag{Name: "local-path", Required: true, Destination: &t.LocalPath,
			Usage: "the local file (a download is written through a temporary file beside it)"},
	}
}

// Size is a byte count flag that accepts 1048576, 64KiB, 16MiB, 1GiB, 16M, 1G.
type Size int64

// Set parses a size.
func (s *Size) Set(v string) error {
	n, err := bytesize.Parse(v)
	if err != nil {
		return err
	}
	*s = Size(n)
	return nil
}

func (s *Size) String() string {
	if s == nil {
		return "0"
	}
	n := int64(*s)
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n >= u.mult && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}
