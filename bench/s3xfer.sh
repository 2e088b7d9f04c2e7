#!/usr/bin/env bash
# Benchmark: s3-upload / s3-download of one file against a local MinIO,
# next to `mc cp` on the same file and server, alternating runs.
#   bench/s3xfer.sh [SIZE_MIB=1024] [RUNS=3]
# Prints a Markdown table (median wall time, peak RSS, throughput).
source "$(dirname "$0")/lib.sh"
SIZE_MIB=${1:-1024}
RUNS=${2:-3}
WORK=$(mktemp -d /tmp/srb-bench-s3xfer.XXXX)
BENCH_PIDS=$WORK/pids
export MC_CONFIG_DIR=$WORK/mc   # keep mc away from ~/.mc
RESULTS=$WORK/results
trap 'stop_all; rm -rf "$WORK"' EXIT
ensure_tools
start_minio m "$WORK/minio"
"$TOOLS/mc" mb -q m/bench >/dev/null

head -c "$((SIZE_MIB << 20))" /dev/urandom >"$WORK/file"
export SRB_S3_ENDPOINT=$m_URL SRB_S3_ACCESS_KEY=$m_AK SRB_S3_SECRET_KEY=$m_SK SRB_S3_BUCKET=bench
for i in $(seq "$RUNS"); do
  measure "s3-upload" "$BIN/s3-upload" --key "srb/$i" --local-path "$WORK/file"
  measure "mc-cp-upload" "$TOOLS/mc" cp -q "$WORK/file" "m/bench/mc/$i"
  measure "s3-download" "$BIN/s3-download" --key "srb/$i" --local-path "$WORK/down-srb"
  measure "mc-cp-download" "$TOOLS/mc" cp -q "m/bench/mc/$i" "$WORK/down-mc"
  cmp -s "$WORK/file" "$WORK/down-srb" && cmp -s "$WORK/file" "$WORK/down-mc" || { echo "bench: downloaded bytes differ" >&2; exit 1; }
  rm -f "$WORK/down-srb" "$WORK/down-mc"
done
echo "file: ${SIZE_MIB} MiB random, ${RUNS} alternating runs, loopback MinIO, $(nproc) cores"
summary bytes=$((SIZE_MIB << 20))
