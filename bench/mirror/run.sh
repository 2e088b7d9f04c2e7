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
#   WORK           scratch folder, wiped at start (/tmp/srb-bench-mirror)
set -euo pipefail

# bash reads a script as it runs it: run a copy, so that editing this file
# during a run cannot break the run.
if [ -z "${SRB_BENCH_COPY:-}" ]; then
	copy=$(mktemp /tmp/srb-bench-mirror-XXXXXX.sh)
	cp "$0" "$copy"
	SRB_BENCH_COPY=1 SRB_ROOT=$(cd "$(dirname "$0")/../.." && pwd) exec bash "$copy" "$@"
fi
ROOT=${SRB_ROOT:-$(cd "$(dirname "$0")/../.." && pwd)}
WORK=${WORK:-/tmp/srb-bench-mirror}
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

# Shared helpers: free_port, ensure_tools (MinIO, mc, `make build`),
# start_minio (sets <name>_URL/_AK/_SK and MC_HOST_<name>), stop_all.
# shellcheck source=../lib.sh
source "$ROOT/bench/lib.sh"
RCLONE_MODULE=github.com/rclone/rclone@v1.76.0

rm -rf "$WORK"
mkdir -p "$WORK"
BENCH_PIDS=$WORK/pids
PROXIES=()
cleanup() {
	for p in "${PROXIES[@]}"; do kill "$p" 2>/dev/null || true; done
	stop_all
	wait 2>/dev/null || true
	rm -f "$0" # the copy this runs from
}
trap cleanup EXIT

echo "building the tasks, gentree and latproxy; installing missing tools" >&2
ensure_tools
if [ ! -x "$TOOLS/rclone" ]; then
	(cd /tmp && CGO_ENABLED=0 GOBIN=$TOOLS GOFLAGS=-buildvcs=false go install "$RCLONE_MODULE")
fi
(cd "$ROOT" && go build -o "$WORK/gentree" ./bench/mirror/gentree && go build -o "$WORK/latproxy" ./bench/mirror/latproxy)
MIRROR=$BIN/mirror
MC=$TOOLS/mc
RCLONE=$TOOLS/rclone

start_minio a "$WORK/a"
start_minio b "$WORK/b"
A=$a_URL
B=$b_URL
export MC_CONFIG_DIR=$WORK/mc RCLONE_CONFIG=$WORK/rclone.conf
: >"$RCLONE_CONFIG"
export RCLONE_CONFIG_A_TYPE=s3 RCLONE_CONFIG_A_PROVIDER=Minio RCLONE_CONFIG_A_ACCESS_KEY_ID=$a_AK RCLONE_CONFIG_A_SECRET_ACCESS_KEY=$a_SK
export RCLONE_CONFIG_B_TYPE=s3 RCLONE_CONFIG_B_PROVIDER=Minio RCLONE_CONFIG_B_ACCESS_KEY_ID=$b_AK RCLONE_CONFIG_B_SECRET_ACCESS_KEY=$b_SK
export SRB_SOURCE_ACCESS_KEY=$a_AK SRB_SOURCE_SECRET_KEY=$a_SK SRB_TARGET_ACCESS_KEY=$b_AK SRB_TARGET_SECRET_KEY=$b_SK

# endpoints URL_A URL_B: point every tool at these endpoints.
endpoints() {
	export SRB_SOURCE_ENDPOINT=$1 SRB_TARGET_ENDPOINT=$2
	export MC_HOST_a="http://$a_AK:$a_SK@${1#http://}" MC_HOST_b="http://$b_AK:$b_SK@${2#http://}"
	export RCLONE_CONFIG_A_ENDPOINT=$1 RCLONE_CONFIG_B_ENDPOINT=$2
}
endpoints "$A" "$B"
RESULTS=$WORK/results.tsv
: >"$RESULTS"

gen() { # bucket objects max-data big
	GEN_ACCESS_KEY=$a_AK GEN_SECRET_KEY=$a_SK "$WORK/gentree" -endpoint "$A" -bucket "$1" -prefix starrocks -objects "$2" -max-data "$3" -big "$4" >&2
}

# server_cpu: CPU seconds used so far by both MinIO servers.
server_cpu() {
	local total=0 p f
	while read -r p; do
		read -ra f <"/proc/$p/stat"
		total=$((total + f[13] + f[14]))
	done <"$BENCH_PIDS"
	echo "$total"
}
TICKS=$(getconf CLK_TCK)

# measure_cpu LABEL TOOL PHASE -- command...: like lib.sh's measure (wall
# seconds and peak RSS under /usr/bin/time; a non-zero exit fails the
# benchmark) plus the tool's CPU seconds and the servers' CPU seconds, which
# say how much work a tool costs even when other processes share the
# machine and make wall times noisy.
measure_cpu() {
	local label=$1 tool=$2 phase=$3 before after
	shift 4
	local log=$WORK/last-$tool-$phase.log
	before=$(server_cpu)
	if ! /usr/bin/time -f "%e %M %U %S" -o "$WORK/time.out" "$@" >"$log" 2>&1; then
		echo "FAILED: $label $tool $phase: $*" >&2
		tail -5 "$log" >&2
		exit 1
	fi
	after=$(server_cpu)
	read -r secs rss usr sys <"$WORK/time.out"
	local tcpu scpu
	tcpu=$(awk -v u="$usr" -v s="$sys" 'BEGIN{printf "%.2f", u+s}')
	scpu=$(awk -v a="$after" -v b="$before" -v t="$TICKS" 'BEGIN{printf "%.2f", (a-b)/t}')
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$label" "$tool" "$phase" "$secs" "$((rss / 1024))" "$tcpu" "$scpu" >>"$RESULTS"
	printf '%-14s %-7s %-10s %8.2fs %6d MiB  cpu %6.2fs + servers %6.2fs  load %s\n' "$label" "$tool" "$phase" "$secs" "$((rss / 1024))" "$tcpu" "$scpu" "$(cut -d' ' -f1 /proc/loadavg)" >&2
}

# summary ALIAS/BUCKET: "objects bytes" under its starrocks/ folder.
summary() { "$MC" ls --recursive --json "$1/starrocks/" | python3 -c '
import json, sys
n = b = 0
for l in sys.stdin:
    o = json.loads(l); n += 1; b += o["size"]
print(n, b)'; }

SRC_SUMMARY=""
check() { # bucket tool: the copy is complete (same number of objects and bytes)
	local got
	got=$(summary "b/$1")
	if [ "$got" != "$SRC_SUMMARY" ]; then
		echo "INCOMPLETE COPY by $2: target has '$got' (objects bytes), source '$SRC_SUMMARY'" >&2
		exit 1
	fi
}

run_tool() { # tool bucket [workers|transfers]
	case $1 in
	mirror) "$MIRROR" --source src/starrocks --target "$2/starrocks" --workers "${3:-32}" --progress-interval 0 ;;
	mc) "$MC" mirror --overwrite --quiet "a/src/starrocks" "b/$2/starrocks" ;;
	rclone) "$RCLONE" sync "a:src/starrocks" "b:$2/starrocks" --transfers "${3:-32}" --checkers "$((2 * ${3:-32}))" ;;
	esac
}
export -f run_tool
export MIRROR MC RCLONE

full_and_rerun() { # label tool bucket arg
	"$MC" mb --quiet "b/$3" >/dev/null
	measure_cpu "$1" "$2" full -- bash -c 'run_tool "$@"' _ "$2" "$3" "${4:-}"
	check "$3" "$2"
	measure_cpu "$1" "$2" no-change -- bash -c 'run_tool "$@"' _ "$2" "$3" "${4:-}"
	"$MC" rb --force --quiet "b/$3" >/dev/null
}

echo "generating the tree: $OBJECTS objects + segments of $BIG MiB" >&2
gen src "$OBJECTS" $((256 << 10)) "$BIG"
SRC_SUMMARY=$(summary a/src)
echo "source: $SRC_SUMMARY (objects bytes)" >&2

BEST_WORKERS=32
BEST_TRANSFERS=32
if [[ " $SECTIONS " == *" sweep "* ]]; then
	best=""
	for w in $WORKERS_SWEEP; do
		full_and_rerun "workers=$w" mirror "sweep-m$w" "$w"
		t=$(awk -F'\t' -v l="workers=$w" '$1==l && $2=="mirror" && $3=="full" {print $4}' "$RESULTS")
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; BEST_WORKERS=$w; fi
	done
	best=""
	for tr in $RCLONE_SWEEP; do
		full_and_rerun "transfers=$tr" rclone "sweep-r$tr" "$tr"
		t=$(awk -F'\t' -v l="transfers=$tr" '$1==l && $2=="rclone" && $3=="full" {print $4}' "$RESULTS")
		if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; BEST_TRANSFERS=$tr; fi
	done
	echo "fastest: mirror --workers $BEST_WORKERS, rclone --transfers $BEST_TRANSFERS" >&2
fi

if [[ " $SECTIONS " == *" rounds "* ]]; then
	tools=(mirror mc rclone)
	for r in $(seq "$ROUNDS"); do
		for i in 0 1 2; do
			tool=${tools[$(((i + r - 1) % 3))]}
			arg=""
			[ "$tool" = mirror ] && arg=32
			[ "$tool" = rclone ] && arg=$BEST_TRANSFERS
			full_and_rerun "round$r" "$tool" "r$r-$tool" "$arg"
		done
	done
fi

if [[ " $SECTIONS " == *" latency "* ]]; then
	# Both servers behind a proxy adding $LAT_DELAY to every request: the
	# request latency of a remote endpoint, where the number of requests
	# in flight decides the speed on many small objects.
	"$MC" rb --force --quiet a/src >/dev/null
	gen src "$LAT_OBJECTS" $((256 << 10)) ""
	SRC_SUMMARY=$(summary a/src)
	pa=$(free_port)
	pb=$(free_port)
	"$WORK/latproxy" -listen "127.0.0.1:$pa" -upstream "$A" -delay "$LAT_DELAY" &
	PROXIES=($!)
	"$WORK/latproxy" -listen "127.0.0.1:$pb" -upstream "$B" -delay "$LAT_DELAY" &
	PROXIES+=($!)
	sleep 1
	endpoints "http://127.0.0.1:$pa" "http://127.0.0.1:$pb"
	for w in $LAT_WORKERS; do
		full_and_rerun "lat-workers=$w" mirror "lw$w" "$w"
	done
	full_and_rerun lat mc l-mc
	full_and_rerun lat rclone l-rclone "$BEST_TRANSFERS"
	kill "${PROXIES[@]}"
	endpoints "$A" "$B"
fi

if [[ " $SECTIONS " == *" growth "* ]] && [ -n "$GROWTH" ]; then
	for n in $GROWTH; do
		"$MC" rb --force --quiet a/src >/dev/null
		gen src "$n" 4096 ""
		SRC_SUMMARY=$(summary a/src)
		for tool in mirror mc rclone; do
			arg=""
			[ "$tool" = mirror ] && arg=32
			[ "$tool" = rclone ] && arg=$BEST_TRANSFERS
			full_and_rerun "growth$n" "$tool" "g$n-$tool" "$arg"
		done
	done
fi

python3 - "$RESULTS" "$OBJECTS" "$BIG" "$BEST_WORKERS" "$BEST_TRANSFERS" "$LAT_DELAY" "$LAT_OBJECTS" <<'PY' | tee "$WORK/results.md"
import statistics, sys
from collections import defaultdict
path, objects, big, best_w, best_t, lat_delay, lat_objects = sys.argv[1:]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
by = defaultdict(list)
for label, tool, phase, secs, rss, tcpu, scpu in rows:
    by[(label, tool, phase)].append((float(secs), int(rss), float(tcpu), float(scpu)))
def med(label_prefix, tool, phase):
    xs = [x for (l, t, p), v in by.items() if l.startswith(label_prefix) and t == tool and p == phase for x in v]
    if not xs:
        return None
    return (statistics.median(x[0] for x in xs), max(x[1] for x in xs), len(xs),
            statistics.median(x[2] for x in xs), statistics.median(x[3] for x in xs))
print(f"Tree: {objects} small objects + segments of {big} MiB. Median of alternating rounds; RSS is the peak over them.\n")
names = {"mirror": "mirror --workers 32", "mc": "mc mirror --overwrite", "rclone": f"rclone sync --transfers {best_t} --checkers {2*int(best_t)}"}
if any(k[0].startswith("round") for k in by):
    print("| tool | full copy | no-change re-run | peak RSS (full / re-run) | CPU s, full copy (tool + servers) | CPU s, re-run (tool + servers) | rounds |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    base = {}
    for tool in ("mirror", "mc", "rclone"):
        f, n = med("round", tool, "full"), med("round", tool, "no-change")
        if f and n:
            base[tool] = (f[0], n[0])
            print(f"| {names[tool]} | {f[0]:.1f} s | {n[0]:.2f} s | {f[1]} / {n[1]} MiB | {f[3]:.1f} + {f[4]:.1f} | {n[3]:.2f} + {n[4]:.2f} | {f[2]} |")
    if "mirror" in base:
        for tool in ("mc", "rclone"):
            if tool in base:
                print(f"\nmirror vs {tool}: full copy {base[tool][0]/base['mirror'][0]:.2f}x faster, no-change re-run {base[tool][1]/base['mirror'][1]:.2f}x faster", end="")
        print()
sweep = sorted({l for (l, t, p) in by if l.startswith("workers=")}, key=lambda l: int(l.split("=")[1]))
if sweep:
    print("\n| mirror --workers | full copy | no-change re-run | peak RSS | CPU s, full copy (tool + servers) |")
    print("|---:|---:|---:|---:|---:|")
    for l in sweep:
        f, n = by[(l, "mirror", "full")][0], by[(l, "mirror", "no-change")][0]
        print(f"| {l.split('=')[1]} | {f[0]:.1f} s | {n[0]:.2f} s | {max(f[1], n[1])} MiB | {f[2]:.1f} + {f[3]:.1f} |")
rs = sorted({l for (l, t, p) in by if l.startswith("transfers=")}, key=lambda l: int(l.split("=")[1]))
if rs:
    print("\n| rclone --transfers (checkers 2x) | full copy | no-change re-run | peak RSS | CPU s, full copy (tool + servers) |")
    print("|---:|---:|---:|---:|---:|")
    for l in rs:
        f, n = by[(l, "rclone", "full")][0], by[(l, "rclone", "no-change")][0]
        print(f"| {l.split('=')[1]} | {f[0]:.1f} s | {n[0]:.2f} s | {max(f[1], n[1])} MiB | {f[2]:.1f} + {f[3]:.1f} |")
lw = sorted({l for (l, t, p) in by if l.startswith("lat-workers=")}, key=lambda l: int(l.split("=")[1]))
if lw or ("lat", "mc", "full") in by:
    print(f"\nWith {lat_delay} added to every request ({lat_objects} small objects, no large segment):\n")
    print("| tool | full copy | no-change re-run | peak RSS | CPU s, full copy (tool + servers) |")
    print("|---|---:|---:|---:|---:|")
    rows = [(f"mirror --workers {l.split('=')[1]}", l, "mirror") for l in lw]
    rows += [(names["mc"], "lat", "mc"), (names["rclone"], "lat", "rclone")]
    for name, l, tool in rows:
        if (l, tool, "full") in by:
            f, n = by[(l, tool, "full")][0], by[(l, tool, "no-change")][0]
            print(f"| {name} | {f[0]:.1f} s | {n[0]:.2f} s | {max(f[1], n[1])} MiB | {f[2]:.1f} + {f[3]:.1f} |")
gs = sorted({l for (l, t, p) in by if l.startswith("growth")}, key=lambda l: int(l[6:]))
if gs:
    print("\n| objects (4 KiB max) | mirror full / re-run | mirror peak RSS | mc full / re-run | mc peak RSS | rclone full / re-run | rclone peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for l in gs:
        cells = []
        for tool in ("mirror", "mc", "rclone"):
            f, n = by.get((l, tool, "full")), by.get((l, tool, "no-change"))
            if f and n:
                cells += [f"{f[0][0]:.1f} s / {n[0][0]:.2f} s", f"{max(f[0][1], n[0][1])} MiB"]
            else:
                cells += ["-", "-"]
        print(f"| {l[6:]} | " + " | ".join(cells) + " |")
PY
