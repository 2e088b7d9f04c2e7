package conn_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"strings"
	"testing"

	"github.com/starrocks-backup/srbackup/pkg/conn"
	"github.com/starrocks-backup/srbackup/pkg/s3conf"
	"github.com/starrocks-backup/srbackup/pkg/sshx"
)

// fuzzSecrets are embedded in the connections. They look like real secrets
// (an AWS secret key with '/' and '+', a password with every URI delimiter,
// a token with '%' and non-ASCII letters) and share no six characters with
// any message of the parsers.
var fuzzSecrets = []string{
	"wJalrXUtnFEMI/K7MDENG+bPxRfiCYzq0Ex4mpLe",
	"Qx7@zK:9v/Wn?#Tq&=Rj%2Fy+Lb;Hm",
	"ŧøkęñ-Zq8%Vv_xY3~Jd.k9Pw",
}

// marker stands for the secret in a template.
const marker = "§"

// Where a secret sits: login, password, host, port, path (schema), query,
// extra JSON, and malformed positions (unencoded in a URI, breaking JSON).
var fuzzSeeds = []string{
	"aws://AKIAIOSFODNN7EXAMPLE:§@/?endpoint_url=http%3A%2F%2Fminio%3A9000",
	"aws://AKIAIOSFODNN7EXAMPLE:§@/?endpoint_url=http%3A%2F%2Fminio%3A9000&region_name=eu-west-1",
	"aws://§@/?endpoint_url=http%3A%2F%2Fminio%3A9000",
	"aws://AKIA:§@minio:§/",
	"aws://AKIA:x@§/",
	"aws://AKIA:x@minio/§",
	"aws://AKIA:x@/?endpoint_url=http%3A%2F%2Fu%3A§%40minio%3A9000",
	"aws://AKIA:x@/?endpoint_url=http%3A%2F%2Fminio%3A9000%2F%3Ftoken%3D§",
	"aws://AKIA:x@/?endpoint_url=http://minio:9000/?token=§",
	"aws://AKIA:x@/?__extra__=§",
	"aws://AKIA:x@/?endpoint_url=§",
	"generic://http://AKIA:§@minio%3A9000/",
	"§://AKIA:x@/",
	"aws://§://minio",
	"aws://[§",
	"ssh://root:§@fe:22",
	"ssh://§@fe",
	"ssh://root@§:22",
	"ssh://root@fe:§",
	"ssh://root@fe/§",
	"ssh://root@fe?private_key=§&private_key_passphrase=§",
	"ssh://root@fe?no_host_key_check=§&conn_timeout=§&cmd_timeout=§",
	"ssh://root@fe?host_key=§",
	`{"conn_type":"aws","login":"AKIA","password":"§","extra":{"endpoint_url":"http://§@minio:9000"}}`,
	`{"conn_type":"aws","login":"AKIA","password":"x","extra":{"endpoint_url":"http://minio:9000/?token=§"}}`,
	`{"conn_type":"aws","login":"AKIA","password":"x","extra":{"service_config":{"s3":{"endpoint_url":"§"}}}}`,
	`{"conn_type":"aws","port":"§"}`,
	`{"conn_type":"aws","port":§}`,
	`{"conn_type":"§"}`,
	`{"conn_type":"aws","password":"§","extra":"§"}`,
	`{"conn_type":"aws","extra":{"aws_secret_access_key":"§","role_arn":"§"}}`,
	`{"conn_type":"aws","host":"§","login":"K","password":"S"}`,
	`{"conn_type":"aws","login":"K","password":"S","schema":"§"}`,
	`{"conn_type":"aws","password":"§"`,
	`{"conn_type":"aws","password":"§"} trailing`,
	`{"conn_type":"generic","host":"fe §","login":"root","password":"§"}`,
	`{"conn_type":"ssh","host":"fe","login":"root","extra":{"conn_timeout":"§","no_host_key_check":"§"}}`,
	`{"conn_type":"ssh","host":"fe","login":"§","password":"§","port":"§"}`,
	"§",
	"",
}

// FuzzNoSecretInErrors embeds a secret anywhere in a connection string and
// checks that no error of conn.Parse, s3conf.Input.Resolve or
// sshx.Options.Resolve holds it, in any encoding, nor six characters of it
// (case ignored: hosts are lower-cased).
func FuzzNoSecretInErrors(f *testing.F) {
	for i, s := range fuzzSeeds {
		for enc := range uint8(5) {
			f.Add(s, enc, uint8(i), uint16(0), i%3 == 0)
		}
	}
	home := f.TempDir()
	f.Fuzz(func(t *testing.T, tmpl string, enc, which uint8, pos uint16, viaID bool) {
		sec := fuzzSecrets[int(which)%len(fuzzSecrets)]
		embedded := encode(sec, enc)
		value := strings.ReplaceAll(tmpl, marker, embedded)
		if !strings.Contains(tmpl, marker) { // a malformed position: anywhere
			p := int(pos) % (len(tmpl) + 1)
			value = tmpl[:p] + embedded + tmpl[p:]
		}
		env := map[string]string{"HOME": home}
		given := value
		if viaID {
			env["AIRFLOW_CONN_FUZZ"], given = value, "fuzz"
		}
		getenv := func(k string) string { return env[k] }
		var errs []error
		_, err := conn.ParseFrom(getenv, given)
		errs = append(errs, err)
		_, err = s3conf.Input{Conn: given, Getenv: getenv}.Resolve()
		errs = append(errs, err)
		// A key file's path is shown on purpose when it cannot be read.
		if !strings.Contains(value, "key_file") {
			_, err = sshx.Options{Conn: given, Getenv: getenv}.Resolve()
			errs = append(errs, err)
		}
		for _, err := range errs {
			if err == nil {
				continue
			}
			msg := strings.ToLower(err.Error())
			for _, form := range secretForms(sec) {
				if frag := sharedFragment(msg, strings.ToLower(form)); frag != "" {
					t.Fatalf("error holds %q of the secret (form %q):\nconnection: %q\nerror: %v", frag, form, value, err)
				}
			}
		}
	})
}

func encode(s string, enc uint8) string {
	switch enc % 5 {
	case 1:
		return url.QueryEscape(s)
	case 2:
		return url.PathEscape(s)
	case 3:
		return base64.StdEncoding.EncodeToString([]byte(s))
	case 4:
		b, _ := json.Marshal(s)
		return string(b[1 : len(b)-1])
	}
	return s
}

func secretForms(s string) []string {
	return []string{s, url.QueryEscape(s), url.PathEscape(s),
		base64.StdEncoding.EncodeToString([]byte(s)), base64.RawURLEncoding.EncodeToString([]byte(s))}
}

// sharedFragment returns a six-byte piece of form found in msg, or "".
func sharedFragment(msg, form string) string {
	const n = 6
	for i := 0; i+n <= len(form); i++ {
		if strings.Contains(msg, form[i:i+n]) {
			return form[i : i+n]
		}
	}
	return ""
}

// The fragment check itself must catch a leak, or the fuzz proves nothing.
func TestSharedFragmentCatchesALeak(t *testing.T) {
	sec := fuzzSecrets[0]
	leak := `invalid port ":wJalrXUtnFEMI" after host` // what main printed for issue 9
	if sharedFragment(strings.ToLower(leak), strings.ToLower(sec)) == "" {
		t.Fatal("a leaked piece of the secret was not found")
	}
	if sharedFragment("nothing of it here", strings.ToLower(sec)) != "" {
		t.Fatal("a clean message was reported")
	}
}
