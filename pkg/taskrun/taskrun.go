// Package taskrun is the runtime shared by every task binary. It owns, in
// one place:
//
//   - flags, each with an environment variable (EnvName);
//   - zerolog JSON logs on stderr, with the Airflow context of the run;
//   - the result: one JSON object, the last line on stdout, on success and on
//     failure, also written atomically to the xcom file;
//   - exit codes: 0 ok, 1 failed, 2 bad usage, 130 cancelled;
//   - SIGTERM and SIGINT, which cancel the context given to the task.
//
// A task declares its flags and a Run function that knows nothing of the
// command line: Run gets a context (carrying the logger, see zerolog.Ctx) and
// returns a result struct and an error. The struct's JSON fields follow the
// runtime's own fields in the result line.
package taskrun

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"
	"github.com/urfave/cli/v2"

	"github.com/starrocks-backup/srbackup/pkg/secret"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// Exit codes. They are part of the documented contract (README).
const (
	ExitOK        = 0
	ExitFailed    = 1
	ExitUsage     = 2
	ExitCancelled = 130
)

// Task describes one task binary.
type Task struct {
	Name        string
	Usage       string
	Description string
	// Flags are the task's flags; with Commands, every command's too.
	Flags []cli.Flag
	// Run does the work. Its result (a struct, a pointer to one, or nil) is
	// reported also when err is not nil, so that a failed run can still say
	// how far it got.
	Run func(ctx context.Context) (any, error)
	// Commands, when set, replace Run: "catalog list", "catalog prune".
	// The result line then names the command ("command":"list").
	Commands []Command
}

// Command is one command of a task with several.
type Command struct {
	Name  string
	Usage string
	Flags []cli.Flag // the command's own, besides the task's Flags
	Run   func(ctx context.Context) (any, error)
}

// Streams are where a task writes; Main uses the process's own.
type Streams struct {
	Stdout io.Writer
	Stderr io.Writer
}

// ErrCancelled is returned (wrapped) when the task was cancelled. Cancelling
// the context given to Exec with a nil cause gives the same exit code.
var ErrCancelled = errors.New("cancelled")

// Exec runs the task with args (args[0] is the program name) and returns its
// exit code. Cancelling ctx cancels the task; the exit code is then 130.
func Exec(ctx context.Context, t Task, args []string, s Streams) int {
	return execute(ctx, context.Background(), &reporter{stdout: s.Stdout}, t, args, s)
}

// execute is Exec with the context whose end cuts cleanup short (hard) and
// the reporter shared with Main.
func execute(ctx, hard context.Context, rep *reporter, t Task, args []string, s Streams) int {
	start := time.Now()
	rep.setStart(start)
	ctx = context.WithValue(ctx, hardKey{}, hard)
	var (
		lf         logFlags
		xcomFile   string
		started    bool
		command    string
		result     any
		runErr     error
		logger     = newLogger(s.Stderr, t.Name, "json", zerolog.InfoLevel)
		commonFlag = withEnv([]cli.Flag{
			&cli.StringFlag{Name: "log-level", Value: "info", Usage: "log level: debug, info, warn, error", Destination: &lf.level},
			&cli.StringFlag{Name: "log-format", Value: "json", Usage: "log format on stderr: json, or console for people at a terminal", Destination: &lf.format},
			&cli.StringFlag{Name: "xcom-file", Usage: "also write the result to this file, atomically (default: /airflow/xcom/return.json when /airflow/xcom exists)", Destination: &xcomFile},
		})
	)
	log.SetFlags(0)
	log.SetOutput(stdLog{&logger})
	defer log.SetOutput(io.Discard)
	flagsOf := func(own []cli.Flag) []cli.Flag {
		all := append(append(append([]cli.Flag{}, own...), t.Flags...), commonFlag...)
		if err := CheckFlags(withEnv(all)); err != nil {
			panic("taskrun: " + t.Name + ": " + err.Error())
		}
		return all
	}
	onUsageError := func(_ *cli.Context, err error, _ bool) error { return usage.Wrap(err) }
	// begin is where every run starts once the flags parsed.
	begin := func(c *cli.Context) (context.Context, error) {
		started = true
		rep.setXcom(xcomFile)
		if c.NArg() > 0 {
			return nil, usage.Errorf("unexpected argument %q (every input is a --flag)", c.Args().First())
		}
		l, err := lf.logger(s.Stderr, t.Name)
		if err != nil {
			return nil, err
		}
		logger = l
		if xcomFile != "" {
			if fi, err := os.Stat(filepath.Dir(xcomFile)); err != nil || !fi.IsDir() {
				return nil, usage.Errorf("--xcom-file %s: folder %s does not exist", xcomFile, filepath.Dir(xcomFile))
			}
		}
		logger.Debug().Str("version", version()).Str("command", command).Msg("task starting")
		return logger.WithContext(c.Context), nil
	}
	action := func(name string, run func(context.Context) (any, error)) cli.ActionFunc {
		return func(c *cli.Context) error {
			command = name
			ctx, err := begin(c)
			if err != nil {
				return err
			}
			result, runErr = run(ctx)
			return runErr
		}
	}
	app := &cli.App{
		Name:                   t.Name,
		Usage:                  t.Usage,
		Description:            t.Description,
		Version:                version(),
		HideHelpCommand:        true,
		UseShortOptionHandling: false,
		Writer:                 helpWriter(args, s.Stdout),
		ErrWriter:              io.Discard, // errors reach the result line and the log instead
		ExitErrHandler:         func(*cli.Context, error) {},
		OnUsageError:           onUsageError,
	}
	if len(t.Commands) == 0 {
		app.Flags = flagsOf(nil)
		app.Action = action("", t.Run)
	} else {
		var names []string
		for _, cmd := range t.Commands {
			names = append(names, cmd.Name)
			app.Commands = append(app.Commands, &cli.Command{
				Name: cmd.Name, Usage: cmd.Usage, Flags: flagsOf(cmd.Flags),
				Action: action(cmd.Name, cmd.Run), OnUsageError: onUsageError, HideHelpCommand: true,
			})
		}
		app.Flags = commonFlag
		app.Action = func(c *cli.Context) error {
			if c.NArg() > 0 {
				return usage.Errorf("unknown command %q: use one of %s", c.Args().First(), strings.Join(names, ", "))
			}
			return usage.Errorf("give a command: %s", strings.Join(names, ", "))
		}
	}
	err := app.RunContext(ctx, args)
	if !started && err == nil {
		return ExitOK // --help or --version
	}
	if err != nil && !started {
		err = usage.Wrap(err)
	}
	code := exitCode(ctx, err)
	if code == ExitCancelled {
		if cause := context.Cause(ctx); cause != nil && !errors.Is(cause, context.Canceled) {
			err = fmt.Errorf("%w: %v", ErrCancelled, cause)
		} else if !errors.Is(err, ErrCancelled) {
			err = fmt.Errorf("%w: %v", ErrCancelled, err)
		}
	}

	line, encErr := encodeResult(t.Name, command, start, result, err)
	if encErr != nil {
		// A result struct that does not encode is a programming error; the
		// contract still holds: one JSON line, status error.
		logger.Error().Err(encErr).Msg("cannot encode the task result")
		line, _ = encodeResult(t.Name, command, start, nil, fmt.Errorf("internal error: %v", encErr))
		code = ExitFailed
	}
	if !started {
		// The flags did not parse (a malformed value, perhaps in another
		// variable): find the xcom file the way the flag would have.
		if xcomFile == "" {
			xcomFile = xcomFromArgs(args)
		}
		rep.setXcom(xcomFile)
	}
	if !rep.claim() {
		return code // Main gave up waiting and reported already
	}
	if path, werr := rep.writeXcom(line); werr != nil {
		logger.Error().Err(werr).Str("xcom_file", path).Msg("cannot write the xcom file")
		if code == ExitOK {
			line, _ = encodeResult(t.Name, command, start, result, fmt.Errorf("cannot write xcom file: %v", werr))
			code = ExitFailed
		}
	}
	ev := logger.Info()
	if err != nil {
		ev = logger.Error().Str("error", oneLine(err.Error()))
	}
	ev.Int("exit_code", code).Int64("duration_ms", time.Since(start).Milliseconds()).Msg("task finished")
	rep.writeLine(line)
	return code
}

// exitCode is the one place that maps an error to an exit code.
func exitCode(ctx context.Context, err error) int {
	switch {
	case err == nil:
		return ExitOK
	case usage.Is(err):
		return ExitUsage
	case errors.Is(err, ErrCancelled), ctx.Err() != nil:
		return ExitCancelled
	default:
		return ExitFailed
	}
}

// oneLine makes an error message fit on one line and masks secrets in it.
func oneLine(msg string) string {
	msg = strings.Join(strings.FieldsFunc(msg, func(r rune) bool { return r == '\n' || r == '\r' }), "; ")
	return secret.Mask(msg)
}

// helpWriter is where urfave/cli prints help: stdout when help or the
// version was asked for, nowhere otherwise. On a usage error the library
// would print the help text too, which would break the rule that stderr
// holds only JSON log lines; the error itself is in the result and the log.
func helpWriter(args []string, stdout io.Writer) io.Writer {
	for _, a := range args[1:] {
		switch a {
		case "--":
			return io.Discard
		case "-h", "-help", "--help", "-v", "-version", "--version":
			return stdout
		}
	}
	return io.Discard
}

// xcomFromArgs finds --xcom-file in args (as "--xcom-file F" or
// "--xcom-file=F", one or two dashes) or else in XCOM_FILE, for when the
// command line could not be parsed as a whole.
func xcomFromArgs(args []string) string {
	for i, a := range args[1:] {
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if !strings.HasPrefix(a, "-") || name != "xcom-file" {
			continue
		}
		if hasValue {
			return value
		}
		if i+2 < len(args) {
			return args[i+2]
		}
	}
	return os.Getenv(EnvName("xcom-file"))
}
