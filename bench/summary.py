"""The results of bench/lib.sh's `measure` as a Markdown table.

    python3 bench/summary.py RESULTS [bytes=N]

Each line of RESULTS is "LABEL SECS RSS_KIB CPU SERVER_CPU". One row per
label, in the order first seen: median, min and max wall seconds, the number
of runs, the peak RSS, the median CPU seconds of the command and of the
servers meanwhile, and with bytes=N (the bytes each run moved) the
throughput at the median.
"""

import collections
import statistics
import sys


def main(path, *extra_args):
    rows = collections.defaultdict(list)
    with open(path) as f:
        for line in f:
            label, secs, rss_kib, cpu, server_cpu = line.split()[:5]
            rows[label].append((float(secs), int(rss_kib) // 1024, float(cpu), float(server_cpu)))
    extra = dict(a.split("=", 1) for a in extra_args)
    size = float(extra.get("bytes", 0))
    print(
        "| run | median s | min s | max s | runs | peak RSS MiB | CPU s | server CPU s |"
        + (" MiB/s (median) |" if size else "")
    )
    print("|---|---|---|---|---|---|---|---|" + ("---|" if size else ""))
    for label, v in rows.items():
        s = [x[0] for x in v]
        med = statistics.median(s)
        cpu = statistics.median(x[2] for x in v)
        server = statistics.median(x[3] for x in v)
        line = (
            f"| {label} | {med:.2f} | {min(s):.2f} | {max(s):.2f} | {len(s)} | {max(x[1] for x in v)} |"
            f" {cpu:.2f} | {server:.2f} |"
        )
        if size:
            line += f" {size / 1048576 / med:.0f} |"
        print(line)


if __name__ == "__main__":
    main(*sys.argv[1:])
