package taskrun

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"time"

	"github.com/starrocks-backup/srbackup/pkg/secret"
)

// header holds the fields every result line starts with.
type header struct {
	Task       string `json:"task"`
	Command    string `json:"command,omitempty"`
	Status     string `json:"status"`
	Error      string `json:"error,omitempty"`
	DurationMS int64  `json:"duration_ms"`
}

// reserved are the header's keys, which a task's result must not use.
var reserved = []string{"task", "command", "status", "error", "duration_ms"}

// encodeResult builds the one-line result: the header's fields, then the
// task's own, in the order of its struct. Secrets are masked.
func encodeResult(task, command string, start time.Time, result any, err error) ([]byte, error) {
	h := header{Task: task, Command: command, Status: "ok", DurationMS: time.Since(start).Milliseconds()}
	if err != nil {
		h.Status = "error"
		h.Error = oneLine(err.Error())
	}
	head, _ := json.Marshal(h)
	if result == nil {
		return head, nil
	}
	body, mErr := json.Marshal(result)
	if mErr != nil {
		return nil, mErr
	}
	if bytes.Equal(body, []byte("null")) {
		return head, nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil {
		return nil, fmt.Errorf("result of type %T is not a JSON object", result)
	}
	for _, k := range reserved {
		if _, ok := fields[k]; ok {
			return nil, fmt.Errorf("result of type %T uses the reserved field %q", result, k)
		}
	}
	if len(fields) == 0 {
		return head, nil
	}
	line := append(head[:len(head)-1], ',')
	line = append(line, body[1:]...)
	return secret.MaskBytes(line), nil
}

// kpoXcomDir is where KubernetesPodOperator(do_xcom_push=True) mounts its
// xcom volume; it reads return.json from it after the container ends.
var kpoXcomDir = "/airflow/xcom"

func xcomPath(flag string) string {
	if flag != "" {
		return flag
	}
	if fi, err := os.Stat(kpoXcomDir); err == nil && fi.IsDir() {
		return filepath.Join(kpoXcomDir, "return.json")
	}
	return ""
}

// Version is stamped at build time:
// -ldflags "-X github.com/starrocks-backup/srbackup/pkg/taskrun.Version=v1.2.3".
var Version string

// VersionString returns the tool's version, as --version prints it.
func VersionString() string { return version() }

func version() string {
	if Version != "" {
		return Version
	}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	rev, dirty := "", false
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	if dirty {
		rev += "-dirty"
	}
	return "devel-" + rev
}
