// Package s3conf is the one place where an S3 endpoint is configured: it
// resolves flags, an Airflow "aws" connection and credentials from the
// environment into a Config, and builds from it the clients of both SDKs
// the tasks use (aws-sdk-go-v2 for s3-upload/s3-download, minio-go for
// mirror) on one shared HTTP transport set-up. It also turns both SDKs'
// errors into short, clear ones (errors.go).
package s3conf

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/conn"
	"github.com/starrocks-backup/srbackup/pkg/localfile"
	"github.com/starrocks-backup/srbackup/pkg/secret"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// DefaultRegion is used when neither a flag, the connection nor AWS_REGION
// gives one.
const DefaultRegion = "us-east-1"

// Input is what a user gives for one endpoint, straight from the flags.
type Input struct {
	Endpoint string // URL of an S3-compatible endpoint; empty means AWS S3
	Region   string
	Conn     string // Airflow connection: URI, JSON, or an id found in AIRFLOW_CONN_<ID>
	Insecure bool   // do not verify TLS certificates
	// CredEnv names the environment variables holding this endpoint's
	// credentials: "SRB_SOURCE" means SRB_SOURCE_ACCESS_KEY,
	// SRB_SOURCE_SECRET_KEY and SRB_SOURCE_SESSION_TOKEN. Without them (or
	// keys in the connection), the AWS credential chain applies
	// (AWS_ACCESS_KEY_ID, AWS_PROFILE, web identity, instance role).
	CredEnv string
	// Getenv replaces os.Getenv (tests).
	Getenv func(string) string
}

// Config is a resolved endpoint. Its secrets are registered for masking.
type Config struct {
	// Endpoint is the base URL (scheme://host[:port]) of an S3-compatible
	// server, or "" for AWS S3.
	Endpoint     string
	Region       string
	AccessKey    string
	SecretKey    string
	SessionToken string
	// Profile is an AWS shared-config profile (connection extra
	// profile_name), used when no keys are given.
	Profile  string
	Insecure bool
	CAFile   string // extra CA bundle (connection extra verify=<path>)
	// Addressing is AddressingAuto, AddressingPath or AddressingVirtual
	// (connection extra addressing_style; see addressing.go).
	Addressing string
}

// AWS reports whether the endpoint is AWS S3 itself.
func (c Config) AWS() bool {
	if c.Endpoint == "" {
		return true
	}
	u, err := url.Parse(c.Endpoint)
	return err == nil && (u.Hostname() == "amazonaws.com" || strings.HasSuffix(u.Hostname(), ".amazonaws.com"))
}

// StaticCredentials reports whether keys were given (otherwise the standard
// AWS credential chain is used: profile, web identity, instance role).
func (c Config) StaticCredentials() bool { return c.AccessKey != "" }

// String describes the endpoint without secrets, for logs and results.
func (c Config) String() string {
	if c.Endpoint == "" {
		return "aws-s3 (" + c.Region + ")"
	}
	return c.Endpoint
}

// SameServer reports whether both configs reach the same server with the
// same credentials, so that one can copy server-side from the other.
func (c Config) SameServer(o Config) bool {
	return c.Endpoint == o.Endpoint && c.Region == o.Region && c.AccessKey == o.AccessKey &&
		c.SecretKey == o.SecretKey && c.SessionToken == o.SessionToken && c.Profile == o.Profile
}

func (in Input) getenv(k string) string {
	if in.Getenv != nil {
		return in.Getenv(k)
	}
	return os.Getenv(k)
}

// Resolve turns the input into a Config. Precedence: flags, then this
// endpoint's credential variables, then the connection, then the ambient
// AWS set-up (AWS_REGION, the credential chain). Errors are usage errors;
// none quotes the connection or a part of it, and an endpoint given by
// flag is quoted without its user info, path and query.
func (in Input) Resolve() (Config, error) {
	var c Config
	endpointFrom := ""
	if in.Conn != "" {
		cn, err := conn.ParseFrom(in.getenv, in.Conn)
		if err != nil {
			return c, err
		}
		if c, endpointFrom, err = fromConn(cn); err != nil {
			return c, err
		}
		if c.Addressing, err = addressingStyle(cn); err != nil {
			return c, err
		}
	}
	if in.Endpoint != "" {
		c.Endpoint, endpointFrom = in.Endpoint, ""
	}
	if in.Region != "" {
		c.Region = in.Region
	}
	if in.Insecure {
		c.Insecure = true
	}
	if err := in.credentialsFromEnv(&c); err != nil {
		return c, err
	}
	if c.Region == "" {
		c.Region = in.getenv("AWS_REGION")
	}
	if c.Region == "" {
		c.Region = in.getenv("AWS_DEFAULT_REGION")
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.Endpoint != "" {
		ep, err := checkEndpoint(c.Endpoint, endpointFrom)
		if err != nil {
			return c, err
		}
		c.Endpoint = ep
	}
	if c.Addressing == "" {
		c.Addressing = AddressingAuto
	}
	secret.Register(c.SecretKey, c.SessionToken)
	return c, nil
}

// fromConn reads an Airflow connection of type aws, s3, generic or none
// (a plain apache-airflow, without the amazon provider, stores
// "--conn-type aws" as generic). It returns where the endpoint came from,
// for messages.
func fromConn(cn *conn.Connection) (c Config, endpointFrom string, err error) {
	if err := cn.CheckType("an S3 connection", "aws", "s3"); err != nil {
		return c, "", err
	}
	if cn.String("role_arn") != "" {
		return c, "", usage.Errorf("connection extra role_arn is not supported: use keys, profile_name, or the pod's web identity (IRSA)")
	}
	if cn.Schema != "" {
		return c, "", usage.Errorf("the S3 connection has a schema (the URI's path), which S3 connections do not use: " +
			"if its login or password holds '/', '?', '#' or '@', write them URL-encoded (%%2F, %%3F, %%23, %%40)")
	}
	switch {
	case cn.String("endpoint_url") != "":
		c.Endpoint, endpointFrom = cn.String("endpoint_url"), "the connection's endpoint_url"
	case cn.Nested("service_config", "s3", "endpoint_url") != "":
		c.Endpoint, endpointFrom = cn.Nested("service_config", "s3", "endpoint_url"), "the connection's service_config.s3.endpoint_url"
	case cn.Host != "":
		// Older connections, and generic ones made with --conn-host, keep
		// the endpoint in the host (and maybe its port apart).
		c.Endpoint, endpointFrom = cn.Host, "the connection's host"
		if u, err := url.Parse(cn.Host); err == nil && cn.Port != 0 && u.Port() == "" && u.Host != "" {
			u.Host = net.JoinHostPort(u.Hostname(), strconv.Itoa(cn.Port))
			c.Endpoint = u.String()
		}
	}
	c.Region = cn.String("region_name")
	c.AccessKey, c.SecretKey = cn.Login, cn.Password
	if c.AccessKey == "" && c.SecretKey == "" {
		c.AccessKey, c.SecretKey = cn.String("aws_access_key_id"), cn.String("aws_secret_access_key")
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return c, "", usage.Errorf("incomplete credentials in the connection: give both the access key (login) and the secret key (password)" +
			" (URL-encoded in a URI: '/' is %%2F, '+' is %%2B, '@' is %%40)")
	}
	c.SessionToken = cn.String("aws_session_token")
	c.Profile = cn.String("profile_name")
	switch v := cn.Extra["verify"].(type) {
	case bool:
		c.Insecure = !v
	case string:
		switch strings.ToLower(v) {
		case "false":
			c.Insecure = true
		case "true", "":
		default:
			c.CAFile = v
		}
	}
	return c, endpointFrom, nil
}

// credentialsFromEnv applies this endpoint's own credential variables
// (they beat the connection) and checks the ambient AWS_* pair.
func (in Input) credentialsFromEnv(c *Config) error {
	if in.CredEnv != "" {
		ak, sk, tok := in.CredEnv+"_ACCESS_KEY", in.CredEnv+"_SECRET_KEY", in.CredEnv+"_SESSION_TOKEN"
		envAK, err := secret.LookupFrom(in.getenv, ak)
		if err != nil {
			return err
		}
		envSK, err := secret.LookupFrom(in.getenv, sk)
		if err != nil {
			return err
		}
		envTok, err := secret.LookupFrom(in.getenv, tok)
		if err != nil {
			return err
		}
		if envAK != "" || envSK != "" {
			if envAK == "" || envSK == "" {
				return usage.Errorf("incomplete credentials: set both %s and %s (or neither)", ak, sk)
			}
			c.AccessKey, c.SecretKey, c.SessionToken = envAK, envSK, envTok
		}
	}
	// The SDKs read the ambient AWS_* variables themselves (credential
	// chain); catch half of a pair early, and mask them all the same.
	if c.AccessKey == "" && (in.getenv("AWS_ACCESS_KEY_ID") == "") != (in.getenv("AWS_SECRET_ACCESS_KEY") == "") {
		return usage.Errorf("incomplete credentials: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or neither)")
	}
	for _, k := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		if v := in.getenv(k); v != "" {
			secret.Register(v)
		}
	}
	return nil
}

// checkEndpoint checks an endpoint URL and returns it as scheme://host[:port].
// from is where it came from: "" for the flag, whose value the error shows
// (see Redact); a connection's field is named, never shown.
func checkEndpoint(endpoint, from string) (string, error) {
	u, err := url.Parse(endpoint)
	if u != nil && u.User != nil {
		if pw, ok := u.User.Password(); ok {
			secret.Register(pw)
		}
	}
	shown := Redact(endpoint)
	if from != "" {
		shown = "(" + from + ")"
	}
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Opaque != "":
		return "", usage.Errorf("invalid endpoint %s: not an http:// or https:// URL (want http://host:port or https://host)", shown)
	case u.User != nil:
		return "", usage.Errorf("invalid endpoint %s: it holds a login or password; credentials go in the connection's login and password, "+
			"or in the access key variables", shown)
	case (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "":
		return "", usage.Errorf("invalid endpoint %s: it has a path or query; give scheme, host and port only (the bucket is a separate flag)", shown)
	}
	return u.Scheme + "://" + u.Host, nil
}

// Redact returns an endpoint for messages: scheme://host[:port] without
// its user info, path, query and fragment when it parses as a URL; a bare
// host[:port] as it is; anything else is not shown (a malformed URL may
// hold a password anywhere).
func Redact(endpoint string) string {
	if u, err := url.Parse(endpoint); err == nil && u.Scheme != "" && u.Host != "" {
		return u.Scheme + "://" + u.Host
	}
	if plainHost.MatchString(endpoint) {
		return endpoint
	}
	return "(not shown: it does not parse as a URL)"
}

var plainHost = regexp.MustCompile(`^[A-Za-z0-9.:\[\]_-]+$`)

// Secure reports whether the endpoint uses TLS.
func (c Config) Secure() bool { return !strings.HasPrefix(c.Endpoint, "http://") }

// Host returns host[:port] of the endpoint ("s3.amazonaws.com" for AWS).
func (c Config) Host() string {
	if c.Endpoint == "" {
		return "s3.amazonaws.com"
	}
	u, _ := url.Parse(c.Endpoint)
	return u.Host
}

// configureTransport applies the settings every S3 client's transport
// shares: bounded connect and header timeouts, keep-alive connections
// reused across requests (up to maxConns per host), TLS verification
// unless Insecure, and the extra CA bundle if any.
func (c Config) configureTransport(t *http.Transport, maxConns int, roots *x509.CertPool) {
	if maxConns < 8 {
		maxConns = 8
	}
	t.Proxy = http.ProxyFromEnvironment
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = maxConns * 2
	t.MaxIdleConnsPerHost = maxConns
	t.IdleConnTimeout = 90 * time.Second
	t.TLSHandshakeTimeout = 10 * time.Second
	t.ResponseHeaderTimeout = 5 * time.Minute
	t.ExpectContinueTimeout = time.Second
	t.ForceAttemptHTTP2 = false // S3 servers speak HTTP/1.1; many connections beat one multiplexed
	// 64 KiB reads and writes instead of 4 KiB: list pages of ~300 KB and
	// object bodies cost far fewer system calls.
	t.ReadBufferSize, t.WriteBufferSize = 64<<10, 64<<10
	// Never ask for gzip: Go's transport would unzip an object stored with
	// Content-Encoding: gzip and drop its Content-Length, so the bytes read
	// would not be the object's.
	t.DisableCompression = true
	if t.TLSClientConfig == nil {
		t.TLSClientConfig = &tls.Config{}
	}
	t.TLSClientConfig.MinVersion = tls.VersionTLS12
	t.TLSClientConfig.InsecureSkipVerify = c.Insecure //nolint:gosec // only with --insecure
	if roots != nil {
		t.TLSClientConfig.RootCAs = roots
	}
}

// rootCAs returns the system pool plus the CA bundle named by the
// connection (verify=<path>), or nil when there is none.
func (c Config) rootCAs() (*x509.CertPool, error) {
	if c.CAFile == "" {
		return nil, nil
	}
	pem, err := os.ReadFile(c.CAFile)
	if err != nil {
		return nil, usage.Errorf("cannot read the CA bundle named by the connection's verify extra: %v", localfile.Reason(err))
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usage.Errorf("the CA bundle named by the connection's verify extra holds no PEM certificate")
	}
	return pool, nil
}

// Transport returns a new transport configured like every S3 client's.
func (c Config) Transport(maxConns int) (*http.Transport, error) {
	roots, err := c.rootCAs()
	if err != nil {
		return nil, err
	}
	t := &http.Transport{}
	c.configureTransport(t, maxConns, roots)
	return t, nil
}
