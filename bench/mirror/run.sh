#!/usr/bin/env bash
# Benchmark of `mirror` against `mc mirror --overwrite` and a tuned
# `rclone sync`, between two local MinIO servers, on a StarRocks-like tree.
# Results (markdown) go to $WORK/results.md and stdout; see docs/benchmarks.md.
#
#   bench/mirror/run.sh                   # the full benchmark (about 45 minutes on 2 cores)
#   OBJECTS=2000 BIG=64 ROUNDS=1 GROWTH="" bench/mirror/run.sh   # a quick look
#
# Knobs (environment):
#   OBJECTS        small objects in the tree (20000)
#   BIG            large segments, MiB, comma-separated ("64,128,256,512")
#   ROUNDS         alternating rounds of full copy + no-change re-run (3)
#   WORKERS_SWEEP  mirror --workers values tried on a full copy ("8 16 32 64 128")
#   RCLONE_SWEEP   rclone --transfers values tried (checkers = 2 x transfers) ("16 32 64")
#   GROWTH         tree sizes (small objects only) for the memory-growth check ("5000 20000 100000")
#   LAT_DELAY      latency added to every request by a proxy in the "latency" section (20ms)
#   LAT_OBJECTS    small objects in the latency section's tree (5000)
#   LAT_WORKERS    mirror --workers values tried with latency ("8 16 32 64 128")
#   SECTIONS       which parts to run ("sweep rounds latency growth")
#   WORK           scratch folder, wiped at start, kept after (/tmp/srb-bench-mirror)
#
# Everything below is a function and the last line runs main, then exits:
# bash has read the whole file before the run starts, so editing this file
# during a run cannot break the run.

# shellcheck source-path=SCRIPTDIR source=../lib.sh
source "$(dirname "$0")/../lib.sh"
OBJECTS=${OBJECTS:-20000}
BIG=${BIG:-64,128,256,512}
ROUNDS=${ROUNDS:-3}
WORKERS_SWEEP=${WORKERS_SWEEP:-"8 16 32 64 128"}
RCLONE_SWEEP=${RCLONE_SWEEP:-"16 32 64"}
GROWTH=${GROWTH-"5000 20000 100000"}
SECTIONS=${SECTIONS:-"sweep rounds latency growth"}
LAT_DELAY=${LAT_DELAY:-20ms}
LAT_OBJECTS=${LAT_OBJECTS:-5000}
LAT_WORKERS=${LAT_WORKERS:-"8 16 32 64 128"}

BEST_WORKERS=32   # the fastest of the sweep (reported), else the default
BEST_TRANSFERS=32 # the fastest of the sweep, used for rclone after it
SRC_SUMMARY=""    # "objects bytes" of the source tree

setup() {
	bench_init mirror "${WORK:-/tmp/srb-bench-mirror}"
	echo "building the tasks, gentree and latproxy; installing missing tools" >&2
	build_tasks
	need_tools minio mc rclone
	build_helpers ./bench/mirror/gentree ./bench/mirror/latproxy
	MIRROR=$BIN/mirror MC=$TOOLS/mc RCLONE=$TOOLS/rclone
	start_minio a
	start_minio b
	A=${MINIO_URL[a]}
	B=${MINIO_URL[b]}
	export MC_CONFIG_DIR=$WORK/mc RCLONE_CONFIG=$WORK/rclone.conf
	: >"$RCLONE_CONFIG"
	export RCLONE_CONFIG_A_TYPE=s3 RCLONE_CONFIG_A_PROVIDER=Minio RCLONE_CONFIG_A_ACCESS_KEY_ID=${MINIO_AK[a]} RCLONE_CONFIG_A_SECRET_ACCESS_KEY=${MINIO_SK[a]}
	export RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Minio RCLONE_CONFIG_B_ACCESS_KEY_ID=${MINIO_AK[b]} RCLONE_CONFIG_B_SECRET_ACCESS_KEY=${MINIO_SK[b]}
	export SRB_SOURCE_ACCESS_KEY=${MINIO_AK[a]} SRB_SOURCE_SECRET_KEY=${MINIO_SK[a]} SRB_TARGET_ACCESS_KEY=${MINIO_AK[b]} SRB_TARGET_SECRET_KEY=${MINIO_SK[b]}
	endpoints "$A" "$B"
}

# endpoints URL_A URL_B: point every tool at these endpoints.
endpoints() {
	export SRB_SOURCE_ENDPOINT=$1 SRB_TARGET_ENDPOINT=$2
	export MC_HOST_a="http://${MINIO_AK[a]}:${MINIO_SK[a]}@${1#http://}" MC_HOST_b="http://${MINIO_AK[b]}:${MINIO_SK[b]}@${2#http://}"
	export RCLONE_CONFIG_A_ENDPOINT=$1 RCLONE_CONFIG_B_ENDPOINT=$2
}

# new_tree OBJECTS MAX_DATA BIG: replaces the source bucket a/src by a tree
# from gentree; sets SRC_SUMMARY.
new_tree() {
	[ -z "$SRC_SUMMARY" ] || "$MC" rb --force --quiet a/src >/dev/null
	GEN_ACCESS_KEY=${MINIO_AK[a]} GEN_SECRET_KEY=${MINIO_SK[a]} "$WORK/bin/gentree" -endpoint "$A" \
		-bucket src -prefix starrocks -objects "$1" -max-data "$2" -big "$3" >&2
	SRC_SUMMARY=$(tree_totals a/src)
}

# tree_totals ALIAS/BUCKET: "objects bytes" under its starrocks/ folder.
tree_totals() {
	"$MC" ls --recursive --json "$1/starrocks/" |
		python3 -c 'import json, sys; s = [json.loads(l)["size"] for l in sys.stdin]; print(len(s), sum(s))'
}

check() { # bucket tool: the copy is complete (same number of objects and bytes)
	local got
	got=$(tree_totals "b/$1")
	if [ "$got" != "$SRC_SUMMARY" ]; then
		die "INCOMPLETE COPY by $2: target has '$got' (objects bytes), source '$SRC_SUMMARY'"
	fi
}

# tool_cmd TOOL BUCKET [WORKERS|TRANSFERS]: sets CMD to the command line of
# TOOL that copies the source tree into BUCKET of server b.
tool_cmd() {
	case $1 in
	mirror) CMD=("$MIRROR" --source src/starrocks --target "$2/starrocks" --workers "${3:-32}" --progress-interval 0) ;;
	mc) CMD=("$MC" mirror --overwrite --quiet "a/src/starrocks" "b/$2/starrocks") ;;
	rclone) CMD=("$RCLONE" sync "a:src/starrocks" "b:$2/starrocks" --transfers "${3:-32}" --checkers "$((2 * ${3:-32}))") ;;
	esac
}

# tool_arg TOOL: the --workers or --transfers a tool runs with outside the sweeps.
tool_arg() {
	case $1 in
	mirror) echo 32 ;;
	rclone) echo "$BEST_TRANSFERS" ;;
	*) echo "" ;;
	esac
}

# measure_tool LABEL TOOL PHASE CMD...: lib.sh's measure (wall seconds, peak
# RSS, the tool's CPU seconds and the servers' CPU seconds, which say how
# much work a tool costs even when other processes share the machine and
# make wall times noisy), and a progress line on stderr.
measure_tool() {
	local label=$1 tool=$2 phase=$3
	shift 3
	measure "$label $tool $phase" "$@"
	printf '%-14s %-7s %-10s %8.2fs %6d MiB  cpu %6.2fs + servers %6.2fs  load %s\n' "$label" "$tool" "$phase" \
		"$SECS" "$((RSS_KIB / 1024))" "$CPU" "$SERVER_CPU" "$(cut -d' ' -f1 /proc/loadavg)" >&2
}

# full_and_rerun LABEL TOOL BUCKET [ARG]: a full copy into a new bucket
# (checked complete; its seconds in FULL_SECS), then a re-run with nothing
# to copy; the bucket is removed after.
full_and_rerun() {
	tool_cmd "$2" "$3" "${4:-}"
	"$MC" mb --quiet "b/$3" >/dev/null
	measure_tool "$1" "$2" full "${CMD[@]}"
	FULL_SECS=$SECS
	check "$3" "$2"
	measure_tool "$1" "$2" no-change "${CMD[@]}"
	"$MC" rb --force --quiet "b/$3" >/dev/null
}

# fastest VAR TOOL NAME VALUES: full_and_rerun with each of VALUES (labels
# NAME=value); sets VAR to the value of the quickest full copy.
fastest() {
	local var=$1 tool=$2 name=$3 v best=""
	for v in $4; do
		full_and_rerun "$name=$v" "$tool" "sweep-$tool-$v" "$v"
		if [ -z "$best" ] || awk -v a="$FULL_SECS" -v b="$best" 'BEGIN { exit !(a < b) }'; then
			best=$FULL_SECS
			printf -v "$var" %s "$v"
		fi
	done
}

section_sweep() {
	fastest BEST_WORKERS mirror workers "$WORKERS_SWEEP"
	fastest BEST_TRANSFERS rclone transfers "$RCLONE_SWEEP"
	echo "fastest: mirror --workers $BEST_WORKERS, rclone --transfers $BEST_TRANSFERS" >&2
}

section_rounds() {
	local tools=(mirror mc rclone) r i tool
	for r in $(seq "$ROUNDS"); do
		for i in 0 1 2; do
			tool=${tools[$(((i + r - 1) % 3))]}
			full_and_rerun "round$r" "$tool" "r$r-$tool" "$(tool_arg "$tool")"
		done
	done
}

# Both servers behind a proxy adding $LAT_DELAY to every request: the
# request latency of a remote endpoint, where the number of requests in
# flight decides the speed on many small objects.
section_latency() {
	local pa pb proxies=() w
	new_tree "$LAT_OBJECTS" $((256 << 10)) ""
	pa=$(free_port)
	pb=$(free_port)
	bench_bg "$WORK/bin/latproxy" -listen "127.0.0.1:$pa" -upstream "$A" -delay "$LAT_DELAY"
	proxies+=("$!")
	bench_bg "$WORK/bin/latproxy" -listen "127.0.0.1:$pb" -upstream "$B" -delay "$LAT_DELAY"
	proxies+=("$!")
	wait_for "latproxy a" curl -sf "http://127.0.0.1:$pa/minio/health/ready"
	wait_for "latproxy b" curl -sf "http://127.0.0.1:$pb/minio/health/ready"
	endpoints "http://127.0.0.1:$pa" "http://127.0.0.1:$pb"
	for w in $LAT_WORKERS; do
		full_and_rerun "lat-workers=$w" mirror "lw$w" "$w"
	done
	full_and_rerun lat mc l-mc
	full_and_rerun lat rclone l-rclone "$BEST_TRANSFERS"
	kill "${proxies[@]}"
	endpoints "$A" "$B"
}

section_growth() {
	local n tool
	for n in $GROWTH; do
		new_tree "$n" 4096 ""
		for tool in mirror mc rclone; do
			full_and_rerun "growth$n" "$tool" "g$n-$tool" "$(tool_arg "$tool")"
		done
	done
}

selected() { [[ " $SECTIONS " == *" $1 "* ]]; }

main() {
	setup
	echo "generating the tree: $OBJECTS objects + segments of $BIG MiB" >&2
	new_tree "$OBJECTS" $((256 << 10)) "$BIG"
	echo "source: $SRC_SUMMARY (objects bytes)" >&2
	if selected sweep; then section_sweep; fi
	if selected rounds; then section_rounds; fi
	if selected latency; then section_latency; fi
	if selected growth; then section_growth; fi
	python3 "$ROOT/bench/mirror/report.py" "$RESULTS" "$OBJECTS" "$BIG" "$BEST_TRANSFERS" "$LAT_DELAY" "$LAT_OBJECTS" |
		tee "$WORK/results.md"
}

main "$@"; exit
