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
// Errors never repeat the connection string nor any part of it: it holds
// secrets, and a malformed one (an unencoded '/' in a password) puts them
// in any field. Errors name fields and positions instead.
package conn

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
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
// found in the environment (AIRFLOW_CONN_<ID>). Every error is a usage
// error, and none quotes the value or a part of it (see the package doc).
func Parse(value string) (*Connection, error) { return ParseFrom(os.Getenv, value) }

// ParseFrom is Parse with an explicit environment.
func ParseFrom(getenv func(string) string, value string) (*Connection, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return nil, usage.Errorf("connection: empty")
	}
	if idPattern.MatchString(value) {
		v := strings.TrimSpace(getenv("AIRFLOW_CONN_" + strings.ToUpper(value)))
		if v == "" {
			return nil, usage.Errorf("connection: not a URI or JSON, and no AIRFLOW_CONN_<ID> variable in this task's environment " +
				"defines it as a connection id (the value is not repeated here: it may hold a secret)")
		}
		c, err := parseValue(v)
		if err != nil {
			return nil, usage.Errorf("connection from AIRFLOW_CONN_<ID>: %v", err)
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

// normalizeType is Airflow's: "postgresql" is "postgres", '-' is '_'.
func normalizeType(t string) string {
	if t == "postgresql" {
		return "postgres"
	}
	return strings.ReplaceAll(t, "-", "_")
}

// Generic is the type Airflow gives a connection whose type needs a
// provider that is not installed: "airflow connections add --conn-type aws"
// on a plain "pip install apache-airflow" stores a generic connection.
const Generic = "generic"

// CheckType checks that the connection may serve as what ("an S3
// connection"): its type is one of want, generic, or none; the fields are
// what count. The error names the accepted types, and the type given when
// it is a known Airflow type (anything else may be a misplaced secret).
func (c *Connection) CheckType(what string, want ...string) error {
	if c.ConnType == "" || c.ConnType == Generic || slices.Contains(want, c.ConnType) {
		return nil
	}
	accepted := strings.Join(want, ", ") + ", " + Generic + " or none"
	if slices.Contains(knownTypes, c.ConnType) {
		return usage.Errorf("a connection of type %s is not %s (accepted types: %s)", c.ConnType, what, accepted)
	}
	return usage.Errorf("the connection's type is not %s (accepted types: %s)", what, accepted)
}

// knownTypes are common Airflow connection types, named in CheckType's error.
var knownTypes = []string{
	"aws", "s3", "emr", "redshift", "ssh", "sftp", "ftp", "ftps", "http", "https", "generic", "fs", "email", "smtp", "imap",
	"postgres", "mysql", "sqlite", "mssql", "oracle", "odbc", "jdbc", "trino", "presto", "snowflake", "databricks", "vertica",
	"hive_cli", "hiveserver2", "spark", "kubernetes", "docker", "redis", "mongo", "cassandra", "elasticsearch", "kafka",
	"google_cloud_platform", "wasb", "azure", "azure_data_lake", "adls", "samba", "slack", "grpc", "openlineage",
}

// connJSON is the JSON form (Airflow's Connection.as_json/from_json).
type connJSON struct {
	ConnType string          `json:"conn_type"`
	Host     string          `json:"host"`
	Login    string          `json:"login"`
	Password string          `json:"password"`
	Schema   string          `json:"schema"`
	Port     json.RawMessage `json:"port"`
	Extra    json.RawMessage `json:"extra"`
}

// Errors of the JSON form; like the URI's, they quote nothing of it.
var (
	errJSONPort  = errors.New("the connection JSON's port is not a number from 1 to 65535")
	errJSONExtra = errors.New("the connection JSON's extra is not a JSON object (nor a string holding one)")
	errJSONTail  = errors.New("the connection JSON has more after its closing '}'")
)

func parseJSON(v string) (*Connection, error) {
	var raw connJSON
	d := json.NewDecoder(strings.NewReader(v))
	d.UseNumber()
	if err := d.Decode(&raw); err != nil {
		return nil, jsonError(err)
	}
	if _, err := d.Token(); err != io.EOF {
		return nil, errJSONTail
	}
	c := &Connection{ConnType: normalizeType(raw.ConnType), Host: raw.Host, Login: raw.Login, Password: raw.Password, Schema: raw.Schema}
	if len(raw.Port) > 0 && string(raw.Port) != "null" {
		var ps string
		if err := json.Unmarshal(raw.Port, &ps); err != nil {
			ps = string(raw.Port) // a number
		}
		if ps = strings.TrimSpace(ps); ps != "" {
			p, err := strconv.Atoi(ps)
			if err != nil || p < 0 || p > 65535 {
				return nil, errJSONPort
			}
			c.Port = p
		}
	}
	if len(raw.Extra) > 0 && string(raw.Extra) != "null" {
		var s string
		extra := []byte(raw.Extra)
		if json.Unmarshal(raw.Extra, &s) == nil {
			extra = []byte(s)
		}
		if len(extra) > 0 {
			if err := json.Unmarshal(extra, &c.Extra); err != nil {
				return nil, errJSONExtra
			}
		}
	}
	return c, nil
}

// jsonError explains a decoding error by its position or its field, never
// by the text around it (encoding/json quotes the offending character).
func jsonError(err error) error {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Errorf("the connection JSON does not parse (syntax error at byte %d)", se.Offset)
	case errors.As(err, &te) && te.Field != "":
		return fmt.Errorf("the connection JSON's %s has the wrong type (want a string)", te.Field)
	case errors.As(err, &te):
		return errors.New("the connection JSON is not an object")
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return errors.New("the connection JSON ends before its closing '}'")
	}
	return errors.New("the connection JSON does not parse")
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
			return false, false, usage.Errorf("connection extra %s is not true or false", key)
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
		return 0, false, usage.Errorf("connection extra %s is not a number of seconds", key)
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
