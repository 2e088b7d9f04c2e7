# shellcheck shell=bash
# Shared helpers of the benchmark scripts (sourced, not run). They need Go,
# make, curl, python3 and GNU time (/usr/bin/time).
#
#   bench_init NAME [DIR]     the work folder $WORK, and the clean-up at exit
#   build_tasks               `make build`: the tasks into $BIN
#   need_tools TOOL...        pinned tools (minio, mc, rclone) into $TOOLS
#   build_helpers PKG...      Go helpers of bench/ into $WORK/bin
#   bench_bg CMD...           a background process, stopped at exit
#   start_minio NAME          a MinIO server (MINIO_URL/_AK/_SK[NAME], mc alias)
#   start_sshd FE_DIR         the test bed's sshd, with an FE folder (SRB_SSH_*)
#   measure LABEL CMD...      wall time, peak RSS and CPU into $RESULTS
#   summary [bytes=N]         $RESULTS as a Markdown table of medians
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin          # the tasks, built by `make build`
TOOLS=$ROOT/.cache/bin # pinned tools, shared with the tests
MC_MODULE=github.com/minio/mc@v0.0.0-20250313080218-cf909e1063a9
RCLONE_MODULE=github.com/rclone/rclone@v1.76.0

BENCH_PIDS=()
BENCH_KEEP=""
declare -A MINIO_URL=() MINIO_AK=() MINIO_SK=() MINIO_PID=()

die() {
	echo "bench: $*" >&2
	exit 1
}

# bench_init NAME [DIR]: the work folder WORK is DIR, wiped first and kept
# after the run (for its logs and results), or else a new temporary folder,
# removed at exit. RESULTS is the file `measure` appends to. At exit, every
# process started by bench_bg is stopped (and waited for).
bench_init() {
	[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is required"
	if [ $# -gt 1 ]; then
		WORK=$2 BENCH_KEEP=1
		rm -rf "$WORK"
		mkdir -p "$WORK"
	else
		WORK=$(mktemp -d "${TMPDIR:-/tmp}/srb-bench-$1.XXXXXX")
	fi
	mkdir -p "$WORK/bin" "$WORK/logs"
	RESULTS=$WORK/results
	: >"$RESULTS"
	trap bench_cleanup EXIT
	trap 'exit 130' INT TERM
}

bench_cleanup() {
	if [ ${#BENCH_PIDS[@]} -gt 0 ]; then
		kill "${BENCH_PIDS[@]}" 2>/dev/null || true
		wait "${BENCH_PIDS[@]}" 2>/dev/null || true
	fi
	[ -n "$BENCH_KEEP" ] || rm -rf "$WORK"
}

# build_tasks: builds the six tasks into $BIN (`make build`).
build_tasks() {
	make -C "$ROOT" build >/dev/null
	[ -x "$BIN/mirror" ] || die "make build left no tasks in $BIN"
}

# need_tools TOOL...: installs each pinned TOOL (minio, mc, rclone) into
# $TOOLS when it is missing.
need_tools() {
	local tool
	for tool in "$@"; do
		[ -x "$TOOLS/$tool" ] && continue
		echo "bench: installing $tool into $TOOLS" >&2
		case $tool in
		minio) make -C "$ROOT" "$TOOLS/minio" >/dev/null ;;
		mc) go_install "$MC_MODULE" ;;
		rclone) go_install "$RCLONE_MODULE" ;;
		*) die "no such tool: $tool" ;;
		esac
	done
}

go_install() {
	(cd /tmp && CGO_ENABLED=0 GOBIN=$TOOLS GOFLAGS=-buildvcs=false go install "$1")
}

# build_helpers PKG...: builds Go commands of this module into $WORK/bin.
build_helpers() {
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -o "$WORK/bin/" "$@")
}

# bench_bg CMD...: runs CMD in the background ($! is its pid), stopped at exit.
bench_bg() {
	"$@" &
	BENCH_PIDS+=("$!")
}

# wait_for WHAT CMD...: retries CMD for up to 20 s; fails the benchmark after.
wait_for() {
	local what=$1 _
	shift
	for _ in $(seq 100); do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	die "$what did not start"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

# start_minio NAME: a MinIO server on free loopback ports, its data and log in
# $WORK/NAME. Sets MINIO_URL[NAME], its keys MINIO_AK[NAME] and MINIO_SK[NAME],
# MINIO_PID[NAME], and the mc alias NAME (MC_HOST_NAME).
start_minio() {
	local name=$1 port console
	port=$(free_port)
	console=$(free_port)
	MINIO_URL[$name]=http://127.0.0.1:$port
	MINIO_AK[$name]=bench-$name
	MINIO_SK[$name]=bench-secret-$name
	mkdir -p "$WORK/$name/data"
	bench_bg env MINIO_ROOT_USER="${MINIO_AK[$name]}" MINIO_ROOT_PASSWORD="${MINIO_SK[$name]}" \
		MINIO_BROWSER=off MINIO_UPDATE=off "$TOOLS/minio" server --quiet \
		--address "127.0.0.1:$port" --console-address "127.0.0.1:$console" "$WORK/$name/data" \
		>"$WORK/$name/minio.log" 2>&1
	MINIO_PID[$name]=$!
	wait_for "MinIO $name (log: $WORK/$name/minio.log)" curl -sf "${MINIO_URL[$name]}/minio/health/ready"
	export "MC_HOST_$name=http://${MINIO_AK[$name]}:${MINIO_SK[$name]}@127.0.0.1:$port"
}

# minio_ticks: CPU ticks (user + system) used so far by the MinIO servers.
minio_ticks() {
	local total=0 pid f
	for pid in "${MINIO_PID[@]}"; do
		read -ra f <"/proc/$pid/stat"
		total=$((total + f[13] + f[14]))
	done
	echo "$total"
}

# start_sshd FE_DIR: the test bed's OpenSSH sshd (bench/fe/sshd, built into
# $WORK/bin) in $WORK/sshd, with a StarRocks-like FE folder written at
# FE_DIR; exports the SRB_SSH_* variables that point the FE tasks at it.
start_sshd() {
	build_helpers ./bench/fe/sshd
	bench_bg "$WORK/bin/sshd" -dir "$WORK/sshd" -env "$WORK/sshd.env" -fixture "$1" >"$WORK/sshd.log" 2>&1
	wait_for "sshd (log: $WORK/sshd.log)" test -s "$WORK/sshd.env"
	set -a
	# shellcheck source=/dev/null
	. "$WORK/sshd.env"
	set +a
}

# measure LABEL CMD...: runs CMD under GNU time, its stdout and stderr into
# $WORK/logs/LABEL.out and .err (spaces in LABEL become dashes); a failure stops
# the benchmark. Sets SECS (wall), RSS_KIB (peak), CPU (the command's user +
# system seconds) and SERVER_CPU (the MinIO servers' meanwhile), and appends
# "LABEL SECS RSS_KIB CPU SERVER_CPU" to $RESULTS.
measure() {
	local label=$1 log before after usr sys
	shift
	log=$WORK/logs/${label// /-}
	before=$(minio_ticks)
	if ! /usr/bin/time -f '%e %M %U %S' -o "$log.time" "$@" >"$log.out" 2>"$log.err"; then
		echo "bench: $label failed: $*" >&2
		tail -n 5 "$log.err" "$log.out" >&2
		exit 1
	fi
	after=$(minio_ticks)
	read -r SECS RSS_KIB usr sys <"$log.time"
	CPU=$(awk -v u="$usr" -v s="$sys" 'BEGIN { printf "%.2f", u + s }')
	SERVER_CPU=$(awk -v a="$after" -v b="$before" -v t="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (a - b) / t }')
	echo "$label $SECS $RSS_KIB $CPU $SERVER_CPU" >>"$RESULTS"
}

# summary [bytes=N]: median, min and max seconds and peak RSS per label of
# $RESULTS as a Markdown table (and MiB/s when the bytes moved are given).
summary() {
	python3 "$ROOT/bench/summary.py" "$RESULTS" "$@"
}
