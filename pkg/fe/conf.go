package fe

import (
	"path"
	"strings"
)

// fe.conf is read by StarRocks like a Java properties file: "key = value"
// lines, '#' comments.

// confValue returns the value of key in fe.conf-style text; the last
// assignment wins. Surrounding blanks and double quotes are removed.
func confValue(text, key string) (string, bool) {
	val, found := "", false
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := confLine(line)
		if ok && k == key {
			val, found = v, true
		}
	}
	return val, found
}

// confLine splits an assignment line; ok is false for comments, blanks and
// anything else.
func confLine(line string) (key, value string, ok bool) {
	t := strings.TrimSpace(line)
	if t == "" || t[0] == '#' || t[0] == '!' {
		return "", "", false
	}
	k, v, ok := strings.Cut(t, "=")
	if !ok {
		return "", "", false
	}
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '"' && v[len(v)-1] == '"' {
		v = v[1 : len(v)-1]
	}
	return strings.TrimSpace(k), v, true
}

// setConf sets key = value in fe.conf-style text: the first assignment of
// key is replaced in place, later ones are removed, and the line is
// appended when there is none. Comments are kept. It is idempotent;
// changed is false when the text already said so.
func setConf(text, key, value string) (out string, changed bool) {
	want := key + " = " + value
	lines := strings.Split(text, "\n")
	var res []string
	seen := false
	for _, line := range lines {
		k, _, ok := confLine(line)
		if ok && k == key {
			if seen {
				changed = true
				continue
			}
			seen = true
			if strings.TrimSpace(line) != want {
				changed = true
			}
			res = append(res, want)
			continue
		}
		res = append(res, line)
	}
	if !seen {
		if n := len(res); n > 0 && res[n-1] == "" {
			res = res[:n-1]
		}
		res = append(res, want, "")
		changed = true
	}
	return strings.Join(res, "\n"), changed
}

// resetElectionGroupKey is the fe.conf setting that lets a restored FE on
// a new host form a new BDB JE election group (older versions:
// metadata_failure_recovery=true).
const resetElectionGroupKey = "bdbje_reset_election_group"

// expandHome replaces ${STARROCKS_HOME} and $STARROCKS_HOME by the FE
// folder and makes a relative path relative to it.
func expandHome(feDir, p string) string {
	p = strings.ReplaceAll(p, "${STARROCKS_HOME}", feDir)
	p = strings.ReplaceAll(p, "$STARROCKS_HOME", feDir)
	if !strings.HasPrefix(p, "/") {
		p = path.Join(feDir, p)
	}
	return path.Clean(p)
}

// pidFiles lists the files that may hold the pid of the FE of feDir:
// bin/fe.pid, and fe.pid in the PID_DIR that fe.conf may set.
func pidFiles(feDir, feConf string) []string {
	files := []string{path.Join(feDir, "bin", "fe.pid")}
	if dir, ok := confValue(feConf, "PID_DIR"); ok && dir != "" {
		if p := path.Join(expandHome(feDir, dir), "fe.pid"); p != files[0] {
			files = append(files, p)
		}
	}
	return files
}

// confPorts returns the edit log and query ports fe.conf sets.
func confPorts(feConf string) []int {
	var ports []int
	for _, k := range []string{"edit_log_port", "query_port"} {
		if v, ok := confValue(feConf, k); ok {
			if p, err := parsePort(v); err == nil {
				ports = append(ports, p)
			}
		}
	}
	return ports
}

// metaDir returns the folder the FE of feDir reads its metadata from: the
// meta_dir fe.conf sets (expanded), else StarRocks' own default,
// STARROCKS_HOME/meta (Config.java: meta_dir = STARROCKS_HOME_DIR +
// "/meta"), STARROCKS_HOME being the FE folder (start_fe.sh sets it so).
// Symbolic links are followed on the host.
func metaDir(feDir, feConf string) string {
	if v, ok := confValue(feConf, "meta_dir"); ok && v != "" {
		return expandHome(feDir, v)
	}
	return path.Join(feDir, "meta")
}
