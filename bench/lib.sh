# Shared helpers of the benchmark scripts (sourced, not run).
# Starts pinned MinIO servers from .cache/bin on free loopback ports and
# measures commands with GNU time (wall seconds, peak RSS).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/bin
TOOLS=$ROOT/.cache/bin
MC_MODULE=github.com/minio/mc@v0.0.0-20250313080218-cf909e1063a9

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'; }

ensure_tools() {
  make -C "$ROOT" build "$TOOLS/minio" >/dev/null
  if [ ! -x "$TOOLS/mc" ]; then
    (cd /tmp && CGO_ENABLED=0 GOBIN=$TOOLS go install "$MC_MODULE")
  fi
  [ -x /usr/bin/time ] || { echo "bench: GNU time (/usr/bin/time) is required" >&2; exit 2; }
}

# start_minio NAME DIR: starts a server; sets NAME_URL, NAME_AK, NAME_SK.
start_minio() {
  local name=$1 dir=$2 port console
  port=$(free_port); console=$(free_port)
  mkdir -p "$dir/data"
  MINIO_ROOT_USER=bench-$name MINIO_ROOT_PASSWORD=bench-secret-$name MINIO_BROWSER=off MINIO_UPDATE=off \
    "$TOOLS/minio" server --quiet --address "127.0.0.1:$port" --console-address "127.0.0.1:$console" "$dir/data" \
    >"$dir/minio.log" 2>&1 &
  echo $! >>"$BENCH_PIDS"
  for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/minio/health/ready" >/dev/null && break
    sleep 0.2
  done
  printf -v "${name}_URL" 'http://127.0.0.1:%s' "$port"
  printf -v "${name}_AK" 'bench-%s' "$name"
  printf -v "${name}_SK" 'bench-secret-%s' "$name"
  export "MC_HOST_$name=http://bench-$name:bench-secret-$name@127.0.0.1:$port"
}

stop_all() { [ -f "$BENCH_PIDS" ] && xargs -r kill <"$BENCH_PIDS" 2>/dev/null; rm -f "$BENCH_PIDS"; }

# measure LABEL CMD...: runs CMD under GNU time; appends "LABEL seconds rss_mib" to $RESULTS.
measure() {
  local label=$1; shift
  local tf; tf=$(mktemp)
  /usr/bin/time -f '%e %M' -o "$tf" "$@" >/dev/null 2>"$tf.err" || { echo "bench: $label failed:" >&2; tail -5 "$tf.err" >&2; exit 1; }
  read -r secs kib <"$tf"
  echo "$label $secs $((kib / 1024))" >>"$RESULTS"
  rm -f "$tf" "$tf.err"
}

# summary: median seconds and max RSS per label, as a Markdown table.
summary() {
  python3 - "$RESULTS" "$@" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    label, secs, rss = line.split()
    rows[label].append((float(secs), int(rss)))
extra = dict(a.split("=", 1) for a in sys.argv[2:])
size = float(extra.get("bytes", 0))
print("| run | median s | min s | max s | runs | peak RSS MiB |" + (" MiB/s (median) |" if size else ""))
print("|---|---|---|---|---|---|" + ("---|" if size else ""))
for label, v in rows.items():
    s = [x[0] for x in v]
    med = statistics.median(s)
    line = f"| {label} | {med:.2f} | {min(s):.2f} | {max(s):.2f} | {len(s)} | {max(x[1] for x in v)} |"
    if size:
        line += f" {size / 1048576 / med:.0f} |"
    print(line)
PY
}
