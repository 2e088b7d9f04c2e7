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
	"strings"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/conn"
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
// AWS set-up (AWS_REGION, the credential chain). Errors are usage errors.
func (in Input) Resolve() (Config, error) {
	var c Config
	var cn *conn.Connection
	if in.Conn != "" {
		var err error
		cn, err = conn.ParseFrom(in.getenv, in.Conn)
		if err != nil {
			return c, err
		}
		if cn.ConnType != "aws" && cn.ConnType != "s3" {
			return c, usage.Errorf("connection type %q is not an S3 connection (want aws)", cn.ConnType)
		}
		if cn.String("role_arn") != "" {
			return c, usage.Errorf("connection extra role_arn is not supported: use keys, profile_name, or the pod's web identity (IRSA)")
		}
		c.Endpoint = cn.String("endpoint_url")
		if c.Endpoint == "" {
			c.Endpoint = cn.Nested("service_config", "s3", "endpoint_url")
		}
		if c.Endpoint == "" && cn.Host != "" {
			c.Endpoint = cn.Host // older connections keep the endpoint in host
		}
		c.Region = cn.String("region_name")
		c.AccessKey, c.SecretKey = cn.Login, cn.Password
		if c.AccessKey == "" {
			c.AccessKey, c.SecretKey = cn.String("aws_access_key_id"), cn.String("aws_secret_access_key")
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
	}
	if in.Endpoint != "" {
		c.Endpoint = in.Endpoint
	}
	if in.Region != "" {
		c.Region = in.Region
	}
	if in.Insecure {
		c.Insecure = true
	}
	if in.CredEnv != "" {
		ak, sk, tok := in.CredEnv+"_ACCESS_KEY", in.CredEnv+"_SECRET_KEY", in.CredEnv+"_SESSION_TOKEN"
		envAK, err := secret.LookupFrom(in.getenv, ak)
		if err != nil {
			return c, err
		}
		envSK, err := secret.LookupFrom(in.getenv, sk)
		if err != nil {
			return c, err
		}
		envTok, err := secret.LookupFrom(in.getenv, tok)
		if err != nil {
			return c, err
		}
		// This endpoint's own variables beat the connection.
		if envAK != "" || envSK != "" {
			if envAK == "" || envSK == "" {
				return c, usage.Errorf("incomplete credentials: set both %s and %s (or neither)", ak, sk)
			}
			c.AccessKey, c.SecretKey, c.SessionToken = envAK, envSK, envTok
		}
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		return c, usage.Errorf("incomplete credentials in the connection: give both the access key (login) and the secret key (password)")
	}
	// The SDKs read the ambient AWS_* variables themselves (credential
	// chain); catch half of a pair early, and mask them all the same.
	if c.AccessKey == "" && (in.getenv("AWS_ACCESS_KEY_ID") == "") != (in.getenv("AWS_SECRET_ACCESS_KEY") == "") {
		return c, usage.Errorf("incomplete credentials: set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or neither)")
	}
	for _, k := range []string{"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"} {
		if v := in.getenv(k); v != "" {
			secret.Register(v)
		}
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
		u, err := url.Parse(c.Endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, usage.Errorf("invalid endpoint %q: want http://host:port or https://host", c.Endpoint)
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil {
			return c, usage.Errorf("invalid endpoint %q: give scheme, host and port only (the bucket is a separate flag)", c.Endpoint)
		}
		c.Endpoint = u.Scheme + "://" + u.Host
	}
	secret.Register(c.SecretKey, c.SessionToken)
	addressing, err := addressingStyle(cn)
	c.Addressing = addressing
	return c, err
}

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
		return nil, usage.Errorf("cannot read the CA bundle named by the connection's verify extra: %v", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, usage.Errorf("CA bundle %s holds no PEM certificate", c.CAFile)
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
