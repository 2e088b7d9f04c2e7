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

// defaultPorts are the FE ports whose listening socket means a running FE:
// 9010 (edit log) and 9030 (MySQL query port).
var defaultPorts = []int{9010, 9030}

// parsePorts reads a comma-separated port list ("9010,9030"); "" gives none.
func parsePorts(flag, s string) ([]int, error) {
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

// listeningPorts reads the content of /proc/net/tcp and /proc/net/tcp6 and
// returns the local ports of sockets in the LISTEN state (st 0A).
func listeningPorts(procNet string) map[int]bool {
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

// feState is what the FE host says about an FE folder.
type feState struct {
	Conf      string // conf/fe.conf, "" when absent
	HasConf   bool
	PidFile   string // the pid file naming a live process
	Pid       int
	Listening []int // FE ports with a listening socket
}

// running reports whether the FE looks alive: a live pid or a listening port.
func (s *feState) running() bool { return s.Pid > 0 || len(s.Listening) > 0 }

// why says, in a few words, why the FE is taken to be running.
func (s *feState) why() string {
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

// inspect reads the FE folder's state on the host (scripts/inspect.sh):
// fe.conf, the pid files (bin/fe.pid, and PID_DIR/fe.pid when fe.conf sets
// PID_DIR, which takes a second round trip) and, when ports is not empty,
// which of them (and of the ports fe.conf sets) listen.
func inspect(ctx context.Context, c *sshx.Client, dir string, ports []int) (*feState, error) {
	s := &feState{}
	run := func(conf, pidFile string, ports bool) (sshx.Sections, error) {
		sc := sshx.NewScript(inspectScript).Set("d", dir).Set("conf", conf).Set("f", pidFile).Set("ports", strconv.FormatBool(ports))
		sec, err := c.RunSections(ctx, sc)
		if err != nil {
			return nil, fmt.Errorf("inspect the FE folder on %s: %w", c.Target(), err)
		}
		if v, ok := sec.Value("pid", "alive"); ok && s.Pid == 0 {
			if pid, err := strconv.Atoi(v); err == nil && pid > 0 {
				s.Pid, s.PidFile = pid, pidFile
			}
		}
		return sec, nil
	}
	files := pidFiles(dir, "")
	sec, err := run(path.Join(dir, "conf", "fe.conf"), files[0], len(ports) > 0)
	if err != nil {
		return nil, err
	}
	if v, ok := sec["conf"]; ok {
		s.Conf, s.HasConf = v, true
	}
	if files = pidFiles(dir, s.Conf); s.Pid == 0 && len(files) > 1 {
		if _, err := run("", files[1], false); err != nil {
			return nil, err
		}
	}
	if len(ports) > 0 {
		listening := listeningPorts(sec["proc-net"])
		seen := map[int]bool{}
		for _, p := range append(append([]int{}, ports...), confPorts(s.Conf)...) {
			if listening[p] && !seen[p] {
				seen[p] = true
				s.Listening = append(s.Listening, p)
			}
		}
		sort.Ints(s.Listening)
	}
	return s, nil
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
