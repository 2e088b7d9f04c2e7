package fe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/starrocks-backup/srbackup/pkg/bytesize"
	"github.com/starrocks-backup/srbackup/pkg/secret"
	"github.com/starrocks-backup/srbackup/pkg/sshx"
	"github.com/starrocks-backup/srbackup/pkg/usage"
)

// ArchiveOptions are the inputs of Archive.
type ArchiveOptions struct {
	SSH sshx.Options
	// Dir is the FE folder on the host (/opt/starrocks/fe).
	Dir string
	// RemoteArchive is where the tar.gz is written on the host; default
	// /tmp/fe-meta-<UTC timestamp>.tar.gz. It must not exist.
	RemoteArchive string
	// Includes are paths relative to Dir; empty means DefaultIncludes,
	// "." the whole folder.
	Includes []string
	// GzipLevel is 1 (fastest) to 9 (smallest); default 6, as gzip's.
	GzipLevel int
	// GzipJobs is how many gzip processes compress parts of the tar at
	// once (the parts form one multi-member gzip file); 0: the host's CPU
	// count, at most 4. They run under nice(1).
	GzipJobs int

	// hook, for tests, runs before each tar pass with the names it will
	// read; an error stops the archive.
	hook func(pass int, names []string) error
	now  func() time.Time
}

// ArchiveResult is fe-archive's part of the result line.
type ArchiveResult struct {
	Host         string   `json:"host"`
	FEDir        string   `json:"fe_dir"`
	RemotePath   string   `json:"remote_path"`
	SHA256       string   `json:"sha256,omitempty"`
	Size         int64    `json:"size"`
	Files        int      `json:"files"`
	JDBFiles     int      `json:"jdb_files"`
	FERunning    bool     `json:"fe_running"`
	FEPid        int      `json:"fe_pid,omitempty"`
	ImageVersion *int64   `json:"image_version,omitempty"`
	ClusterID    string   `json:"cluster_id,omitempty"`
	Includes     []string `json:"includes"`
	Excluded     int      `json:"excluded"`
	Vanished     int      `json:"vanished"`
	Passes       int      `json:"passes"`
	GzipJobs     int      `json:"gzip_jobs,omitempty"`
}

// maxPasses bounds the passes that append files created during the copy.
// BDB JE starts a new .jdb file every few MB to GB of journal, far slower
// than a pass; a folder still growing after this many passes is not an FE.
const maxPasses = 50

func (o *ArchiveOptions) validate() error {
	if err := sshx.CheckRemotePath("--fe-dir", o.Dir); err != nil {
		return err
	}
	o.Dir = path.Clean(o.Dir)
	if o.Dir == "/" {
		return usage.Errorf("--fe-dir / is not an FE folder")
	}
	if o.now == nil {
		o.now = time.Now
	}
	if o.RemoteArchive == "" {
		o.RemoteArchive = "/tmp/fe-meta-" + Timestamp(o.now()) + ".tar.gz"
	}
	if err := sshx.CheckRemotePath("--remote-archive", o.RemoteArchive); err != nil {
		return err
	}
	if strings.HasSuffix(o.RemoteArchive, "/") {
		return usage.Errorf("--remote-archive %s: give a file path, not a folder", o.RemoteArchive)
	}
	o.RemoteArchive = path.Clean(o.RemoteArchive)
	var clean []string
	seen := map[string]bool{}
	for _, in := range o.Includes {
		for _, part := range strings.Split(in, ",") { // the variable form: SRB_INCLUDE=meta,conf
			if strings.TrimSpace(part) == "" {
				continue
			}
			p, err := CleanInclude(part)
			if err != nil {
				return err
			}
			if !seen[p] {
				seen[p] = true
				clean = append(clean, p)
			}
		}
	}
	if seen["."] {
		clean = []string{"."}
	}
	o.Includes = clean
	if o.GzipLevel == 0 {
		o.GzipLevel = 6
	}
	if o.GzipLevel < 1 || o.GzipLevel > 9 {
		return usage.Errorf("--gzip-level %d: use 1 (fastest) to 9 (smallest)", o.GzipLevel)
	}
	if o.GzipJobs < 0 || o.GzipJobs > 64 {
		return usage.Errorf("--gzip-jobs %d: use 0 (automatic) to 64", o.GzipJobs)
	}
	return nil
}

// includes returns the paths to archive with whether each is required.
func (o *ArchiveOptions) includes() []Include {
	if len(o.Includes) == 0 {
		return DefaultIncludes
	}
	var in []Include
	for _, p := range o.Includes {
		in = append(in, Include{Path: p, Required: true})
	}
	return in
}

// entry is one path of the FE folder as find(1) reports it.
type entry struct {
	name string // relative to the FE folder
	kind byte   // 'f' file, 'd' folder, 'l' link, others skipped
	size int64
}

// archiver holds one archive run's remote state.
type archiver struct {
	c        *sshx.Client
	o        *ArchiveOptions
	tmpDir   string
	tarPath  string
	listPath string
	done     map[string]bool // names handed to tar
	lastJDB  string          // the highest .jdb read so far
	res      *ArchiveResult
	excluded map[string]bool
	marker   string // starts the sections of a script's output
	cleaned  bool   // the temp folder is gone
}

// Archive builds a gzip tar of the FE folder on the FE host, over SSH,
// and returns its path, SHA-256 and size.
//
// The tar honours the BDB JE hot-copy rule, so that the archive of a
// running FE restores: every .jdb file is read in ascending numeric order;
// then, pass after pass, the files created meanwhile (new .jdb files,
// images finished during the copy) are appended, together with the .jdb
// that was the last one when it was read (it was still being written, and
// its later copy supersedes it on extraction), until a pass finds nothing
// new. A .jdb deleted by the JE cleaner during the copy is skipped: its
// live records were rewritten to a newer file, which is read later. The
// uncompressed tar is built in a private temp folder beside the archive,
// compressed (parts in parallel under nice), hashed and renamed into place;
// every temp file is removed whatever happens.
func Archive(ctx context.Context, o ArchiveOptions) (*ArchiveResult, error) {
	log := zerolog.Ctx(ctx)
	if err := o.validate(); err != nil {
		return nil, err
	}
	cfg, err := o.SSH.Resolve()
	if err != nil {
		return nil, err
	}
	res := &ArchiveResult{Host: cfg.Addr(), FEDir: o.Dir, RemotePath: o.RemoteArchive}
	for _, in := range o.includes() {
		res.Includes = append(res.Includes, in.Path)
	}
	c, err := sshx.Dial(ctx, cfg)
	if err != nil {
		return res, err
	}
	defer c.Close()

	st, err := Inspect(ctx, c, o.Dir, nil)
	if err != nil {
		return res, err
	}
	res.FERunning, res.FEPid, res.ClusterID = st.Pid > 0, st.Pid, st.ClusterID
	if res.FERunning {
		log.Warn().Int("pid", st.Pid).Str("pid_file", st.PidFile).
			Msg("the FE is running: hot copy; meta/bdb is read in the BDB JE hot-backup order and files created meanwhile are appended")
	}
	if md := MetaDir(o.Dir, st.Conf); md != "" && md != path.Join(o.Dir, "meta") {
		log.Warn().Str("meta_dir", md).Msg("fe.conf sets meta_dir outside the FE folder's meta/: that folder is not archived")
	}

	a := &archiver{c: c, o: &o, res: res, done: map[string]bool{}, excluded: map[string]bool{}, marker: "--srb-" + randHex(8) + "--"}
	dir, base := path.Split(o.RemoteArchive)
	a.tmpDir = path.Join(dir, "."+base+".tmp-"+randHex(6))
	a.tarPath = path.Join(a.tmpDir, "fe.tar")
	a.listPath = path.Join(a.tmpDir, "list")
	defer a.cleanup(ctx)

	jobs, entries, err := a.prepare(ctx)
	if err != nil {
		return res, err
	}
	start := time.Now()
	batch := a.firstBatch(entries)
	for pass := 0; ; pass++ {
		if pass > 0 {
			if batch = a.nextBatch(entries); len(batch) == 0 {
				break
			}
			if pass >= maxPasses {
				return res, fmt.Errorf("the FE folder kept changing: new files after %d passes", maxPasses)
			}
			log.Info().Int("pass", pass).Int("files", len(batch)).Strs("names", firstN(batch, 10)).
				Msg("appending files created during the copy")
		}
		// Each pass reads its batch, then lists the folder again for the next.
		if entries, err = a.tar(ctx, pass, batch); err != nil {
			return res, err
		}
	}
	log.Info().Dur("tar_duration", time.Since(start)).Int("passes", res.Passes).Msg("tar built, compressing")
	if err := a.finish(ctx, jobs); err != nil {
		return res, err
	}
	if res.ImageVersion == nil && a.hasMeta() {
		log.Warn().Msg("no finished image (meta/image/image.N or meta/image/v2/image.N) in the archive")
	}
	log.Info().Str("remote_path", res.RemotePath).Int64("size", res.Size).Int("files", res.Files).
		Int("jdb_files", res.JDBFiles).Str("sha256", res.SHA256).Msg("FE metadata archived")
	return res, nil
}

func (a *archiver) hasMeta() bool {
	for _, p := range a.res.Includes {
		if p == "." || p == "meta" || strings.HasPrefix(p, "meta/") {
			return true
		}
	}
	return false
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return append(append([]string{}, s[:n]...), "...")
	}
	return s
}

// prepare checks the host's tools and paths, creates the temp folder,
// lists the FE folder and checks the free space, in one round trip. It
// returns the number of gzip jobs to use and the listing.
func (a *archiver) prepare(ctx context.Context) (int, []entry, error) {
	s := a.script()
	s.Line(`[ -d "$d" ] || die "FE folder $d does not exist on the host"`)
	s.Line(`for t in tar gzip sha256sum find dd nice stat df; do command -v "$t" >/dev/null 2>&1 || die "$t is not installed on the host"; done`)
	s.Line(`tar --version 2>/dev/null | head -n 1 | grep -q 'GNU tar' || die "GNU tar is required on the host (tar --version does not say GNU tar)"`)
	s.Line(`if [ -e "$out" ] || [ -L "$out" ]; then die "$out already exists on the host; choose another --remote-archive"; fi`)
	s.Line(`odir=$(dirname -- "$out"); [ -d "$odir" ] || die "folder $odir does not exist on the host (--remote-archive)"`)
	s.Line(`mkdir -m 700 -- "$tmpd" || die "cannot create a temp folder beside $out"`)
	s.Line(`printf '%s info\n' "$m"`)
	s.Line(`echo "nproc=$(nproc 2>/dev/null || echo 1)"`)
	s.Line(`df -Pk -- "$tmpd" | awk 'NR==2 {print "avail=" $4}'`)
	s.Line(`listing`)
	out, err := a.c.Run(ctx, s.String())
	if err != nil {
		return 0, nil, fmt.Errorf("prepare the archive on %s: %w", a.c.Target(), err)
	}
	sections := splitSections(out, a.marker)
	entries, err := a.parseListing(sections)
	if err != nil {
		return 0, nil, err
	}
	info := sections["info"]
	jobs := a.o.GzipJobs
	if jobs == 0 {
		jobs = 1
		if v, ok := kv(info, "nproc"); ok {
			if n, err := strconv.Atoi(v); err == nil && n > 0 {
				jobs = min(n, 4)
			}
		}
	}
	if v, ok := kv(info, "avail"); ok {
		if kb, err := strconv.ParseInt(v, 10, 64); err == nil {
			if err := a.checkSpace(entries, kb*1024); err != nil {
				return 0, nil, err
			}
		}
	}
	return jobs, entries, nil
}

// script starts a remote script with the run's variables and the listing
// function, which prints the find(1) output of the includes as sections.
func (a *archiver) script() *sshx.Script {
	s := sshx.NewScript().Set("d", a.o.Dir).Set("out", a.o.RemoteArchive).Set("tmpd", a.tmpDir).
		Set("tarf", a.tarPath).Set("list", a.listPath).Set("m", a.marker)
	s.Line(`listing() {`)
	s.Line(`  cd -- "$d" || die "cannot enter the FE folder $d"`)
	s.Line(`  set --`)
	for _, in := range a.o.includes() {
		if in.Path == "." {
			s.Line(`  set -- .`)
			continue
		}
		p := "./" + in.Path
		if in.Required {
			s.Linef(`  if [ -e %s ] || [ -L %s ]; then set -- "$@" %s; else die %s "does not exist in the FE folder $d"; fi`, p, p, p, in.Path)
		} else {
			s.Linef(`  if [ -e %s ] || [ -L %s ]; then set -- "$@" %s; fi`, p, p, p)
		}
	}
	s.Line(`  [ $# -gt 0 ] || die "nothing to archive in $d"`)
	s.Line(`  printf '%s find\n' "$m"`)
	s.Line(`  find "$@" -printf '%y %s %p\0' 2>"$tmpd/find.err"; rc=$?`)
	s.Line(`  printf '\n%s find-status\n%s\n%s find-err\n' "$m" "$rc" "$m"`)
	s.Line(`  cat -- "$tmpd/find.err"`)
	s.Line(`}`)
	return s
}

// kv finds "key=value" among the lines of out.
func kv(out, key string) (string, bool) {
	for _, line := range strings.Split(out, "\n") {
		if v, ok := strings.CutPrefix(line, key+"="); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// parseListing reads the find(1) sections and returns the entries to
// archive, without the excluded ones. Files vanishing during the walk (the
// JE cleaner) are not an error; anything else find complains about is.
func (a *archiver) parseListing(sections map[string]string) ([]entry, error) {
	if _, ok := sections["find"]; !ok {
		return nil, fmt.Errorf("list the FE folder on %s: no listing in the output", a.c.Target())
	}
	if strings.TrimSpace(sections["find-status"]) != "0" {
		for _, line := range strings.Split(strings.TrimSpace(sections["find-err"]), "\n") {
			if line != "" && !(strings.HasPrefix(line, "find: ") && strings.HasSuffix(line, "No such file or directory")) {
				return nil, fmt.Errorf("list the FE folder on %s: %s", a.c.Target(), sshx.LastLines(sections["find-err"], 2))
			}
		}
	}
	var entries []entry
	for _, rec := range strings.Split(strings.TrimSuffix(sections["find"], "\n"), "\x00") {
		if rec == "" {
			continue
		}
		kind, rest, _ := strings.Cut(rec, " ")
		sz, name, _ := strings.Cut(rest, " ")
		name = strings.TrimPrefix(name, "./")
		if name == "." || name == "" || len(kind) != 1 {
			continue
		}
		if a.skip(name) {
			continue
		}
		if kind != "f" && kind != "d" && kind != "l" {
			a.excluded[name] = true // sockets, FIFOs, devices: nothing to restore
			continue
		}
		n, _ := strconv.ParseInt(sz, 10, 64)
		entries = append(entries, entry{name: name, kind: kind[0], size: n})
	}
	a.res.Excluded = len(a.excluded)
	return entries, nil
}

// skip says whether name is left out: the exclusion rules, anything under
// an excluded folder, and this run's own temp folder and archive.
func (a *archiver) skip(name string) bool {
	full := path.Join(a.o.Dir, name)
	if full == a.tmpDir || strings.HasPrefix(full, a.tmpDir+"/") || full == a.o.RemoteArchive {
		return true
	}
	for p := name; p != "."; p = path.Dir(p) {
		if a.excluded[p] {
			a.excluded[name] = true
			return true
		}
	}
	if ex, _ := Excluded(name); ex {
		a.excluded[name] = true
		return true
	}
	return false
}

// checkSpace refuses to start when the archive's folder cannot hold the
// uncompressed tar and the compressed file side by side: a full /tmp on
// an FE host can stop the FE.
func (a *archiver) checkSpace(entries []entry, avail int64) error {
	var total int64
	for _, e := range entries {
		total += e.size + 512
	}
	if need := 2*total + 64<<20; avail < need {
		return fmt.Errorf("not enough space beside %s: the archive needs about %s (tar and tar.gz side by side), %s is free; "+
			"choose --remote-archive on a larger filesystem", a.o.RemoteArchive, bytesize.Format(need), bytesize.Format(avail))
	}
	return nil
}

// firstBatch orders the first pass: folders and every non-.jdb file by
// name (conf/, meta/image/ with its finished images, ...), then the .jdb
// files in ascending numeric order.
func (a *archiver) firstBatch(entries []entry) []string {
	var other, jdb []string
	for _, e := range entries {
		if e.kind == 'f' && IsJDB(e.name) {
			jdb = append(jdb, e.name)
		} else {
			other = append(other, e.name)
		}
	}
	sort.Strings(other)
	SortJDB(jdb)
	return append(other, jdb...)
}

// nextBatch returns what a later pass appends: entries not read yet, and,
// when there are new .jdb files or other new files (a finished image),
// the .jdb that was the last one when it was read, since it was being
// written then. Empty when nothing is new.
func (a *archiver) nextBatch(entries []entry) []string {
	var other, jdb []string
	for _, e := range entries {
		if a.done[e.name] {
			continue
		}
		if e.kind == 'f' && IsJDB(e.name) {
			jdb = append(jdb, e.name)
		} else {
			other = append(other, e.name)
		}
	}
	if len(other) == 0 && len(jdb) == 0 {
		return nil
	}
	if a.lastJDB != "" {
		jdb = append(jdb, a.lastJDB)
	}
	sort.Strings(other)
	SortJDB(jdb)
	return append(other, jdb...)
}

// tar runs one tar pass over names, in that order (pass 0 creates the
// tar, later ones append), then lists the folder again; it returns the new
// listing.
func (a *archiver) tar(ctx context.Context, pass int, names []string) ([]entry, error) {
	if a.o.hook != nil {
		if err := a.o.hook(pass, names); err != nil {
			return nil, err
		}
	}
	mode := "--append"
	if pass == 0 {
		mode = "--create"
	}
	s := a.script()
	// The list goes in the script itself, each name quoted, NUL-terminated.
	var b strings.Builder
	b.WriteString(`printf '%s\0'`)
	for _, n := range names {
		if strings.HasPrefix(n, "-") {
			n = "./" + n // tar reads a listed name starting with '-' as an option
		}
		b.WriteString(" " + sshx.Quote(n))
	}
	if len(names) == 0 {
		s.Line(`: >"$list" || die "cannot write $list"`)
	} else {
		s.Line(`{ ` + b.String() + `; } >"$list" || die "cannot write $list"`)
	}
	s.Line(`cd -- "$d" || die "cannot enter the FE folder $d"`)
	s.Line(`run_bg nice -n 10 tar ` + mode + ` --file="$tarf" --no-recursion --null --files-from="$list" --ignore-failed-read 2>"$tmpd/tar.err"; rc=$?`)
	s.Line(`printf '%s tar-status\n%s\n%s tar-err\n' "$m" "$rc" "$m"`)
	s.Line(`cat -- "$tmpd/tar.err"`)
	s.Line(`listing`)
	out, err := a.c.Run(ctx, s.String())
	if err != nil {
		return nil, fmt.Errorf("tar on %s: %w", a.c.Target(), err)
	}
	sections := splitSections(out, a.marker)
	rc, _ := strconv.Atoi(strings.TrimSpace(sections["tar-status"]))
	tarErr := sections["tar-err"]
	vanished, problems := classifyTarStderr(tarErr)
	if len(problems) > 0 || rc > 1 && len(vanished) == 0 {
		msg := strings.Join(problems, "; ")
		if msg == "" {
			msg = sshx.LastLines(tarErr, 2)
		}
		return nil, fmt.Errorf("tar on %s failed (exit %d): %s", a.c.Target(), rc, secret.Mask(msg))
	}
	for _, n := range names {
		a.done[n] = true
		if IsJDB(n) && (a.lastJDB == "" || jdbLess(a.lastJDB, n)) {
			a.lastJDB = n
		}
	}
	if len(vanished) > 0 {
		zerolog.Ctx(ctx).Info().Strs("files", firstN(vanished, 10)).Int("count", len(vanished)).
			Msg("files deleted during the copy (the BDB JE cleaner removes .jdb files whose records live on in newer files): skipped")
	}
	a.res.Vanished += len(vanished)
	a.res.Passes = pass + 1
	return a.parseListing(sections)
}

// classifyTarStderr splits GNU tar's complaints (LC_ALL=C) into files
// that vanished before tar read them, which a live FE causes and the hot
// copy tolerates, and real problems (a file that cannot be read, a full
// disk), which fail the archive. "file changed as we read it" is expected
// for the .jdb being written and is not a problem: a prefix of a JE log
// file is a valid log, and its later copy is appended.
func classifyTarStderr(stderr string) (vanished, problems []string) {
	for _, line := range strings.Split(stderr, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		msg, ok := strings.CutPrefix(line, "tar: ")
		if !ok {
			problems = append(problems, line)
			continue
		}
		if msg == "Exiting with failure status due to previous errors" {
			continue
		}
		i := strings.LastIndex(msg, ": ")
		if i < 0 {
			problems = append(problems, line)
			continue
		}
		name, what := msg[:i], msg[i+2:]
		name = strings.TrimSuffix(name, ": Cannot stat")
		name = strings.TrimSuffix(name, ": Cannot open")
		name = strings.TrimSuffix(name, ": Warning")
		switch {
		case what == "No such file or directory", what == "File removed before we read it":
			vanished = append(vanished, name)
		case what == "file changed as we read it":
		default:
			problems = append(problems, line)
		}
	}
	return vanished, problems
}

// finish lists the tar's members (for the result), compresses it in
// parallel parts into one gzip file while hashing it, and renames it into
// place.
func (a *archiver) finish(ctx context.Context, jobs int) error {
	s := a.script().Set("gz", path.Join(a.tmpDir, "fe.tar.gz")).
		Set("level", strconv.Itoa(a.o.GzipLevel)).Set("jobs", strconv.Itoa(jobs))
	s.Line(`printf '%s members\n' "$m"`)
	s.Line(`tar --list --file="$tarf" || die "cannot list $tarf"`)
	s.Line(`printf '%s result\n' "$m"`)
	s.Line(`size=$(stat -c %s -- "$tarf") || die "cannot stat $tarf"`)
	// Parts of at least 64 MiB each: below that, one gzip is as fast.
	s.Line(`min=67108864; chunk=$(( (size + jobs - 1) / jobs ))`)
	s.Line(`if [ "$chunk" -lt "$min" ]; then jobs=$(( (size + min - 1) / min )); [ "$jobs" -ge 1 ] || jobs=1; chunk=$(( (size + jobs - 1) / jobs )); fi`)
	s.Line(`nice="nice -n 10"; if command -v ionice >/dev/null 2>&1 && ionice -c 2 -n 7 true 2>/dev/null; then nice="$nice ionice -c 2 -n 7"; fi`)
	s.Line(`part() { { dd if="$tarf" bs=1M iflag=skip_bytes,count_bytes skip="$2" count="$chunk" 2>"$tmpd/dd.err.$1" || echo "dd: $(cat "$tmpd/dd.err.$1")" >"$tmpd/fail.$1"; } | { $nice gzip -n "-$level" || echo "gzip failed" >"$tmpd/fail.$1"; }; }`)
	s.Line(`( {`)
	s.Line(`  i=1; while [ "$i" -lt "$jobs" ]; do part "$i" $((i * chunk)) >"$tmpd/part.$i" & i=$((i + 1)); done`)
	s.Line(`  part 0 0`)
	s.Line(`  wait`)
	s.Line(`  i=1; while [ "$i" -lt "$jobs" ]; do cat -- "$tmpd/part.$i" || echo "cat failed" >"$tmpd/fail.cat"; rm -f -- "$tmpd/part.$i"; i=$((i + 1)); done`)
	s.Line(`} | { tee -- "$gz" || echo "cannot write $gz" >"$tmpd/fail.tee"; } | sha256sum >"$tmpd/sum" ) & wait $!`)
	s.Line(`for f in "$tmpd"/fail.*; do [ -e "$f" ] && die "compression failed: $(cat -- "$f")"; done`)
	s.Line(`sum=$(cut -c 1-64 "$tmpd/sum")`)
	s.Line(`[ "${#sum}" -eq 64 ] || die "sha256sum failed"`)
	s.Line(`rm -f -- "$tarf"`)
	s.Line(`gzsize=$(stat -c %s -- "$gz") || die "cannot stat $gz"`)
	s.Line(`if [ -e "$out" ] || [ -L "$out" ]; then die "$out appeared on the host during the archive; not replacing it"; fi`)
	s.Line(`mv -- "$gz" "$out" || die "cannot move the archive to $out"`)
	s.Line(`echo "sha256=$sum"; echo "size=$gzsize"; echo "jobs=$jobs"`)
	s.Line(`rm -rf -- "$tmpd"`)
	out, err := a.c.Run(ctx, s.String())
	if err != nil {
		return fmt.Errorf("compress the archive on %s: %w", a.c.Target(), err)
	}
	a.cleaned = true
	sections := splitSections(out, a.marker)
	a.summarize(sections["members"])
	tail := sections["result"]
	a.res.SHA256, _ = kv(tail, "sha256")
	if v, ok := kv(tail, "size"); ok {
		a.res.Size, _ = strconv.ParseInt(v, 10, 64)
	}
	if v, ok := kv(tail, "jobs"); ok {
		a.res.GzipJobs, _ = strconv.Atoi(v)
	}
	if len(a.res.SHA256) != 64 {
		return fmt.Errorf("compress the archive on %s: no sha256 in the output", a.c.Target())
	}
	return nil
}

// summarize counts the distinct files of a `tar --list` output and finds
// the image version in it.
func (a *archiver) summarize(listing string) {
	files := map[string]bool{}
	for _, n := range strings.Split(listing, "\n") {
		if n == "" || strings.HasSuffix(n, "/") {
			continue
		}
		files[n] = true
	}
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
		if IsJDB(n) {
			a.res.JDBFiles++
		}
	}
	a.res.Files = len(files)
	if v, ok := ImageVersion(names); ok {
		a.res.ImageVersion = &v
	}
}

// cleanup removes the temp folder; it runs also when ctx was cancelled
// (SIGTERM from Airflow), with a context of its own.
func (a *archiver) cleanup(ctx context.Context) {
	if a.cleaned {
		return
	}
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 15*time.Second)
	defer cancel()
	_, err := a.c.Run(cctx, sshx.NewScript().Set("tmpd", a.tmpDir).Line(`rm -rf -- "$tmpd"`).String())
	if err != nil {
		zerolog.Ctx(ctx).Warn().Err(err).Str("temp_dir", a.tmpDir).Msg("could not remove the temp folder on the host; remove it by hand")
	}
}
