// Package conn parses Airflow connections, in URI or JSON form, by Airflow's
// own rules (airflow.models.Connection): URL-encoded parts, query parameters
// as extras (each parsed as JSON when it is JSON), "__extra__" holding the
// whole extra as JSON, and a host that may carry its own protocol
// ("http://https://host"). The same parser serves S3 (aws) and SSH
// connections.
//
// A connection may also be named by its id: "aws_s3" is looked up in the
// environment variable AIRFLOW_CONN_AWS_S3, where Airflow itself looks.
//
// Errors never repeat the connection string: it holds secrets.
package conn

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/secret"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Connection is an Airflow connection.
type Connection struct {
	ConnType string
	Host     string
	Login    string
	Password string
	Schema   string
	Port     int
	Extra    map[string]any
}

// secretExtras are extra fields that hold secrets; their values are masked.
var secretExtras = []string{
	"aws_secret_access_key", "aws_session_token", "private_key", "private_key_passphrase", "password",
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// Parse parses a connection given as a URI, as JSON, or as a connection id
// found in the environment (AIRFLOW_CONN_<ID>). Every error is a usage error.
func Parse(value string) (*Connection, error) { return ParseFrom(os.Getenv, value) }

// ParseFrom is Parse with an explicit environment.
func ParseFrom(getenv func(string) string, value string) (*Connection, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, usage.Errorf("empty connection")
	}
	if idPattern.MatchString(value) && !strings.Contains(value, "://") {
		env := "AIRFLOW_CONN_" + strings.ToUpper(value)
		v := strings.TrimSpace(getenv(env))
		if v == "" {
			return nil, usage.Errorf("connection %q: %s is not set (give a URI, JSON, or the id of a connection defined in the environment)", value, env)
		}
		c, err := parseValue(v)
		if err != nil {
			return nil, usage.Errorf("connection %q (from %s): %v", value, env, err)
		}
		return c, nil
	}
	c, err := parseValue(value)
	if err != nil {
		return nil, usage.Errorf("connection: %v", err)
	}
	return c, nil
}

func parseValue(v string) (*Connection, error) {
	var c *Connection
	var err error
	if strings.HasPrefix(v, "{") {
		c, err = parseJSON(v)
	} else {
		c, err = parseURI(v)
	}
	if err != nil {
		return nil, err
	}
	c.registerSecrets()
	return c, nil
}

func (c *Connection) registerSecrets() {
	if c.Password != "" {
		secret.Register(c.Password)
	}
	for _, k := range secretExtras {
		if s, ok := c.Extra[k].(string); ok && s != "" {
			secret.Register(s)
		}
	}
}

func normalizeType(t string) string {
	if t == "postgresql" {
		return "postgres"
	}
	return strings.ReplaceAll(t, "-", "_")
}

func parseURI(uri string) (*Connection, error) {
	if n := strings.Count(uri, "://"); n == 0 || n > 2 {
		return nil, fmt.Errorf("not a connection URI (want type://login:password@host:port/schema?extra=...) or JSON")
	}
	scheme, rest, _ := strings.Cut(uri, "://")
	if scheme == "" {
		return nil, fmt.Errorf("connection URI has no type (scheme)")
	}
	protocol := ""
	if strings.Contains(rest, "://") {
		p, r, _ := strings.Cut(rest, "://")
		if strings.ContainsAny(p, "@:") {
			return nil, fmt.Errorf("invalid connection URI: a host protocol cannot hold '@' or ':'")
		}
		protocol, rest = p, r
	}
	u, err := url.Parse("x://" + rest)
	if err != nil {
		// url.Error repeats the URL, secrets included: keep only the reason.
		if ue, ok := err.(*url.Error); ok {
			err = ue.Err
		}
		return nil, fmt.Errorf("invalid connection URI (are its parts URL-encoded?): %v", secret.Mask(err.Error()))
	}
	c := &Connection{ConnType: normalizeType(scheme)}
	host := u.Hostname()
	if h, err := url.PathUnescape(host); err == nil {
		host = h
	}
	if strings.Contains(host, "/") {
		host = u.Host
		if i := strings.LastIndex(host, ":"); i >= 0 {
			host = host[:i]
		}
	}
	host = strings.ToLower(host)
	if host != "" && protocol != "" {
		host = protocol + "://" + host
	}
	c.Host = host
	if p := strings.TrimPrefix(u.EscapedPath(), "/"); p != "" {
		if s, err := url.PathUnescape(p); err == nil {
			c.Schema = s
		} else {
			c.Schema = p
		}
	}
	if u.User != nil {
		c.Login = u.User.Username()
		c.Password, _ = u.User.Password()
	}
	if ps := u.Port(); ps != "" {
		p, err := strconv.Atoi(ps)
		if err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("invalid port %q", ps)
		}
		c.Port = p
	}
	if u.RawQuery != "" {
		q, err := url.ParseQuery(u.RawQuery)
		if err != nil {
			return nil, fmt.Errorf("invalid connection URI query: %v", secret.Mask(err.Error()))
		}
		if ex, ok := q["__extra__"]; ok {
			if err := json.Unmarshal([]byte(ex[len(ex)-1]), &c.Extra); err != nil {
				return nil, fmt.Errorf("__extra__ is not a JSON object")
			}
		} else {
			c.Extra = map[string]any{}
			for k, vs := range q {
				v := vs[len(vs)-1] // Airflow keeps the last value
				var parsed any
				if err := json.Unmarshal([]byte(v), &parsed); err == nil {
					c.Extra[k] = parsed
				} else {
					c.Extra[k] = v
				}
			}
		}
	}
	return c, nil
}

func parseJSON(v string) (*Connection, error) {
	var raw struct {
		ConnType string          `json:"conn_type"`
		Host     string          `json:"host"`
		Login    string          `json:"login"`
		Password string          `json:"password"`
		Schema   string          `json:"schema"`
		Port     json.RawMessage `json:"port"`
		Extra    json.RawMessage `json:"extra"`
	}
	d := json.NewDecoder(strings.NewReader(v))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		return nil, fmt.Errorf("connection JSON does not parse: %v", secret.Mask(err.Error()))
	}
	c := &Connection{ConnType: normalizeType(raw.ConnType), Host: raw.Host, Login: raw.Login, Password: raw.Password, Schema: raw.Schema}
	if len(raw.Port) > 0 && string(raw.Port) != "null" {
		ps := strings.Trim(string(raw.Port), `"`)
		if ps != "" {
			p, err := strconv.Atoi(ps)
			if err != nil || p <= 0 || p > 65535 {
				return nil, fmt.Errorf("expected an integer port, got %s", raw.Port)
			}
			c.Port = p
		}
	}
	if len(raw.Extra) > 0 && string(raw.Extra) != "null" {
		var s string
		if err := json.Unmarshal(raw.Extra, &s); err == nil {
			if s != "" {
				if err := json.Unmarshal([]byte(s), &c.Extra); err != nil {
					return nil, fmt.Errorf("extra is not a JSON object")
				}
			}
		} else if err := json.Unmarshal(raw.Extra, &c.Extra); err != nil {
			return nil, fmt.Errorf("extra is not a JSON object")
		}
	}
	return c, nil
}

// String returns the extra field key as a string ("" when absent). Numbers
// and booleans are formatted.
func (c *Connection) String(key string) string {
	switch v := c.Extra[key].(type) {
	case nil:
		return ""
	case string:
		return v
	case json.Number:
		return v.String()
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		b, _ := json.Marshal(v)
		return string(b)
	}
}

// Bool returns the extra field key as a boolean; ok is false when absent.
// JSON booleans and the strings "true"/"false" (any case) are accepted.
func (c *Connection) Bool(key string) (value, ok bool, err error) {
	switch v := c.Extra[key].(type) {
	case nil:
		return false, false, nil
	case bool:
		return v, true, nil
	case string:
		b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(v)))
		if err != nil {
			return false, false, usage.Errorf("connection extra %s: %q is not true or false", key, v)
		}
		return b, true, nil
	default:
		return false, false, usage.Errorf("connection extra %s is not true or false", key)
	}
}

// Seconds returns the extra field key, a number of seconds, as a duration;
// ok is false when absent.
func (c *Connection) Seconds(key string) (d time.Duration, ok bool, err error) {
	s := c.String(key)
	if s == "" {
		return 0, false, nil
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f < 0 {
		return 0, false, usage.Errorf("connection extra %s: %q is not a number of seconds", key, s)
	}
	return time.Duration(f * float64(time.Second)), true, nil
}

// Nested returns the extra field path (e.g. "service_config", "s3",
// "endpoint_url") as a string, "" when absent.
func (c *Connection) Nested(path ...string) string {
	var cur any = c.Extra
	for _, p := range path {
		m, ok := cur.(map[string]any)
		if !ok {
			return ""
		}
		cur = m[p]
	}
	if s, ok := cur.(string); ok {
		return s
	}
	return ""
}
