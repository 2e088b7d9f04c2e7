package fe

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/starrocks-backup/srbackup/pkg/sshx"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// DefaultPorts are the FE ports whose listening socket means a running FE:
// 9010 (edit log) and 9030 (MySQL query port).
var DefaultPorts = []int{9010, 9030}

// ParsePorts reads a comma-separated port list ("9010,9030"); "" gives none.
func ParsePorts(flag, s string) ([]int, error) {
	var ports []int
	for _, f := range strings.Split(s, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		p, err := parsePort(f)
		if err != nil {
			return nil, usage.Errorf("%s %q: %q is not a port number", flag, s, f)
		}
		ports = append(ports, p)
	}
	return ports, nil
}

func parsePort(s string) (int, error) {
	p, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || p <= 0 || p > 65535 {
		return 0, errors.New("not a port")
	}
	return p, nil
}

// ListeningPorts reads the content of /proc/net/tcp and /proc/net/tcp6 and
// returns the local ports of sockets in the LISTEN state (st 0A).
func ListeningPorts(procNet string) map[int]bool {
	ports := map[int]bool{}
	for _, line := range strings.Split(procNet, "\n") {
		f := strings.Fields(line)
		// sl local_address rem_address st ...
		if len(f) < 4 || f[3] != "0A" {
			continue
		}
		i := strings.LastIndexByte(f[1], ':')
		if i < 0 {
			continue
		}
		if p, err := strconv.ParseUint(f[1][i+1:], 16, 16); err == nil {
			ports[int(p)] = true
		}
	}
	return ports
}

// State is what the FE host says about an FE folder.
type State struct {
	Dir       string
	Conf      string // conf/fe.conf, "" when absent
	HasConf   bool
	ClusterID string // from meta/image/VERSION
	PidFile   string // the pid file naming a live process
	Pid       int
	Listening []int // FE ports with a listening socket
}

// Running reports whether the FE looks alive: a live pid or a listening port.
func (s *State) Running() bool { return s.Pid > 0 || len(s.Listening) > 0 }

// Why says, in a few words, why the FE is taken to be running.
func (s *State) Why() string {
	var why []string
	if s.Pid > 0 {
		why = append(why, fmt.Sprintf("%s names the live process %d", s.PidFile, s.Pid))
	}
	if len(s.Listening) > 0 {
		ps := make([]string, len(s.Listening))
		for i, p := range s.Listening {
			ps[i] = strconv.Itoa(p)
		}
		why = append(why, "port "+strings.Join(ps, ", ")+" listening")
	}
	return strings.Join(why, " and ")
}

// Inspect reads the FE folder's state on the host in one round trip:
// fe.conf, the cluster id, the pid files (bin/fe.pid, and PID_DIR/fe.pid
// when fe.conf sets PID_DIR, which takes a second one) and, when ports is
// not empty, which of them (and of the ports fe.conf sets) listen.
func Inspect(ctx context.Context, c *sshx.Client, dir string, ports []int) (*State, error) {
	s := &State{Dir: dir}
	marker := "--srb-" + randHex(8) + "--"
	conf, version := path.Join(dir, "conf", "fe.conf"), path.Join(dir, "meta", "image", "VERSION")
	sc := sshx.NewScript().Set("d", dir).Set("m", marker).Set("conf", conf).Set("version", version)
	sc.Line(`[ -d "$d" ] || die "FE folder $d does not exist on the host"`)
	sc.Line(`if [ -f "$conf" ]; then printf '%s conf\n' "$m"; head -c 4194304 -- "$conf"; printf '\n'; fi`)
	sc.Line(`if [ -f "$version" ]; then printf '%s version\n' "$m"; head -c 65536 -- "$version"; printf '\n'; fi`)
	pidCheck(sc, marker, PidFiles(dir, ""))
	if len(ports) > 0 {
		sc.Line(`printf '%s proc-net\n' "$m"`)
		sc.Line(`cat /proc/net/tcp /proc/net/tcp6 2>/dev/null; true`)
	}
	out, err := c.Run(ctx, sc.String())
	if err != nil {
		return nil, fmt.Errorf("inspect the FE folder on %s: %w", c.Target(), err)
	}
	sections := splitSections(out, marker)
	if v, ok := sections["conf"]; ok {
		s.Conf, s.HasConf = strings.TrimSuffix(v, "\n"), true
	}
	s.ClusterID = ParseClusterID(sections["version"])
	pidFiles := PidFiles(dir, s.Conf)
	s.readPids(sections["pids"], pidFiles[:1])
	if s.Pid == 0 && len(pidFiles) > 1 {
		more := sshx.NewScript().Set("m", marker)
		pidCheck(more, marker, pidFiles[1:])
		out, err := c.Run(ctx, more.String())
		if err != nil {
			return nil, fmt.Errorf("inspect the FE pid files on %s: %w", c.Target(), err)
		}
		s.readPids(splitSections(out, marker)["pids"], pidFiles[1:])
	}
	if len(ports) > 0 {
		listening := ListeningPorts(sections["proc-net"])
		seen := map[int]bool{}
		for _, p := range append(append([]int{}, ports...), ConfPorts(s.Conf)...) {
			if listening[p] && !seen[p] {
				seen[p] = true
				s.Listening = append(s.Listening, p)
			}
		}
		sort.Ints(s.Listening)
	}
	return s, nil
}

// pidCheck adds the lines that print "alive <index> <pid>" for each pid
// file naming a live process (kill -0, or /proc/<pid> for another user's
// process).
func pidCheck(sc *sshx.Script, marker string, files []string) {
	sc.Line(`printf '%s pids\n' "$m"`)
	for i, f := range files {
		sc.Set("f", f)
		sc.Line(`if [ -f "$f" ]; then pid=$(head -c 64 -- "$f" | tr -dc 0-9); ` +
			`if [ -n "$pid" ] && { kill -0 "$pid" 2>/dev/null || [ -d "/proc/$pid" ]; }; then echo "alive ` + strconv.Itoa(i) + ` $pid"; fi; fi`)
	}
}

func (s *State) readPids(out string, files []string) {
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) == 3 && f[0] == "alive" && s.Pid == 0 {
			i, _ := strconv.Atoi(f[1])
			pid, _ := strconv.Atoi(f[2])
			if pid > 0 && i >= 0 && i < len(files) {
				s.Pid, s.PidFile = pid, files[i]
			}
		}
	}
}

// splitSections cuts output made of "<marker> <name>" lines each followed
// by a section's text.
func splitSections(out, marker string) map[string]string {
	sections := map[string]string{}
	name := ""
	var b strings.Builder
	flush := func() {
		if name != "" {
			sections[name] = b.String()
		}
		b.Reset()
	}
	for _, line := range strings.SplitAfter(out, "\n") {
		if rest, ok := strings.CutPrefix(line, marker+" "); ok {
			flush()
			name = strings.TrimSpace(rest)
			continue
		}
		b.WriteString(line)
	}
	flush()
	return sections
}

// readSmall reads a small remote file by SFTP; ok is false when it does not exist.
func readSmall(c *sshx.Client, p string) (string, bool, error) {
	sc, err := c.SFTP()
	if err != nil {
		return "", false, err
	}
	f, err := sc.Open(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", false, nil
		}
		return "", false, fmt.Errorf("read %s on the host: %w", p, err)
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, 4<<20))
	if err != nil {
		return "", false, fmt.Errorf("read %s on the host: %w", p, err)
	}
	return string(b), true, nil
}
