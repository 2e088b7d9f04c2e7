package taskrun

import (
	"io"
	"os"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/secret"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

type logFlags struct{ level, format string }

func (f logFlags) logger(w io.Writer, task string) (zerolog.Logger, error) {
	lvl, err := zerolog.ParseLevel(f.level)
	if err != nil || f.level == "" {
		return zerolog.Nop(), usage.Errorf("invalid --log-level %q: use debug, info, warn or error", f.level)
	}
	if f.format != "json" && f.format != "console" {
		return zerolog.Nop(), usage.Errorf("invalid --log-format %q: use json or console", f.format)
	}
	return newLogger(w, task, f.format, lvl), nil
}

// airflowContext maps the variables Airflow sets for a task to log fields.
var airflowContext = []struct{ env, field string }{
	{"AIRFLOW_CTX_DAG_ID", "dag_id"},
	{"AIRFLOW_CTX_TASK_ID", "task_id"},
	{"AIRFLOW_CTX_DAG_RUN_ID", "run_id"},
	{"AIRFLOW_CTX_TRY_NUMBER", "try_number"},
}

func newLogger(w io.Writer, task, format string, lvl zerolog.Level) zerolog.Logger {
	w = maskingWriter{w}
	if format == "console" {
		w = zerolog.ConsoleWriter{Out: w, TimeFormat: time.RFC3339, NoColor: true}
	}
	c := zerolog.New(w).Level(lvl).With().Timestamp().Str("task", task)
	for _, a := range airflowContext {
		if v := os.Getenv(a.env); v != "" {
			c = c.Str(a.field, v)
		}
	}
	return c.Logger()
}

// maskingWriter masks registered secrets in every log line.
type maskingWriter struct{ w io.Writer }

func (m maskingWriter) Write(p []byte) (int, error) {
	if _, err := m.w.Write(secret.MaskBytes(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

// stdLog turns what libraries print with the standard log package (the AWS
// transfer manager does, on some failures) into warning lines of the task's
// log, so that stderr holds JSON lines only.
type stdLog struct{ l *zerolog.Logger }

func (s stdLog) Write(p []byte) (int, error) {
	if msg := strings.TrimSpace(string(p)); msg != "" {
		s.l.Warn().Str("source", "library").Msg(msg)
	}
	return len(p), nil
}
