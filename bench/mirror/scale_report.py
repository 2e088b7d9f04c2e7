"""The Markdown report of bench/mirror/scale.sh (see docs/benchmarks.md).

    python3 bench/mirror/scale_report.py RESULTS LOAD KEYS DELAY MINIO_OBJECTS PART_MIB

Each line of RESULTS (bench/lib.sh's `measure`) is "LABEL SECS RSS_KIB CPU
SERVER_CPU", LABEL holding spaces ("listsim mirror", "parts --part-workers
8"); each line of LOAD is "LABEL LOADAVG", the 1-minute load average when
the run started. A table is printed for each section that ran.
"""

import statistics
import sys
from collections import defaultdict


def load(path, numbers):
    """label -> list of the last `numbers` fields of its lines, as floats."""
    out = defaultdict(list)
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) > numbers:
                out[" ".join(parts[:-numbers])].append([float(x) for x in parts[-numbers:]])
    return out


def main(results, loads, keys, delay, minio_objects, part_mib):
    runs = load(results, 4)  # secs, rss KiB, cpu, server cpu
    lavg = load(loads, 1)
    keys, part_mib = int(keys), int(part_mib)

    def stat(label):
        v = runs.get(label)
        if not v:
            return None
        secs = [x[0] for x in v]
        la = [x[0] for x in lavg.get(label, [[0]])]
        return {
            "med": statistics.median(secs),
            "min": min(secs),
            "max": max(secs),
            "n": len(v),
            "rss": max(x[1] for x in v) / 1024,
            "cpu": statistics.median(x[2] for x in v),
            "scpu": statistics.median(x[3] for x in v),
            "load": f"{min(la):.0f}-{max(la):.0f}" if len(la) > 1 else f"{la[0]:.0f}",
        }

    def row(name, s, extra=""):
        print(
            f"| {name} | {s['med']:.2f} | {s['min']:.2f}-{s['max']:.2f} | {s['n']} | {s['rss']:.0f} | {s['cpu']:.2f} |{extra} {s['load']} |"
        )

    if stat("listsim mirror"):
        print(f"\n### No-change re-run, listsim: {keys:,} keys a side, {delay} a request\n")
        print("| run | median s | min-max s | runs | peak RSS MiB | CPU s | CPU µs per listed object | load |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        names = {
            "listsim mirror": "mirror (parallel units)",
            "listsim lw1": "mirror --list-workers 1",
            "listsim base": "mirror of the base (sequential, minio-go)",
            "listsim mc": "mc mirror --overwrite",
        }
        for label, name in names.items():
            s = stat(label)
            if s:
                row(name, s, f" {s['cpu'] * 1e6 / (2 * keys):.1f} |")
        m = stat("listsim mirror")
        for label, name in (("listsim mc", "mc mirror"), ("listsim base", "the sequential mirror"), ("listsim lw1", "--list-workers 1")):
            s = stat(label)
            if s:
                print(f"\nmirror is {s['med'] / m['med']:.1f}x faster than {name} (medians).", end="")
        print()

    if stat("minio mirror"):
        print(f"\n### No-change re-run, two MinIO servers: {int(minio_objects):,} objects\n")
        print("| run | median s | min-max s | runs | peak RSS MiB | CPU s | servers' CPU s | load |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|")
        for label, name in (("minio mirror", "mirror"), ("minio base", "mirror of the base"), ("minio mc", "mc mirror --overwrite")):
            s = stat(label)
            if s:
                row(name, s, f" {s['scpu']:.2f} |")
        m, c = stat("minio mirror"), stat("minio mc")
        if c:
            print(f"\nmirror {m['med']:.2f} s, mc {c['med']:.2f} s: {c['med'] / m['med']:.2f}x.")

    w8, w1 = stat("parts --part-workers 8"), stat("parts --part-workers 1")
    if w8 and w1:
        print(f"\n### One {part_mib} MiB object, bandwidth per connection limited\n")
        print("| run | s | MiB/s | peak RSS MiB | CPU s | load |")
        print("|---|---:|---:|---:|---:|---:|")
        for name, s in (("--part-workers 8", w8), ("--part-workers 1 (one stream)", w1)):
            print(f"| {name} | {s['med']:.1f} | {part_mib / s['med']:.0f} | {s['rss']:.0f} | {s['cpu']:.1f} | {s['load']} |")
        print(f"\nparallel parts: {w1['med'] / w8['med']:.1f}x.")

    one, four, plan = stat("shards 1 process"), stat("shards 4 processes"), stat("shards plan")
    if one and four:
        print("\n### 4 shards against 1 process, small objects behind latency\n")
        print("| run | s | peak RSS MiB (largest process) | CPU s | load |")
        print("|---|---:|---:|---:|---:|")
        for name, s in (("1 process", one), ("4 shards at once", four), ("the plan (--plan 4)", plan)):
            if s:
                print(f"| {name} | {s['med']:.2f} | {s['rss']:.0f} | {s['cpu']:.2f} | {s['load']} |")
        print(f"\n4 shards: {one['med'] / four['med']:.2f}x.")


if __name__ == "__main__":
    main(*sys.argv[1:])
