"""The Markdown report of bench/mirror/run.sh (see docs/benchmarks.md).

    python3 bench/mirror/report.py RESULTS OBJECTS BIG BEST_TRANSFERS LAT_DELAY LAT_OBJECTS

Each line of RESULTS (written by bench/lib.sh's `measure`) is
"LABEL TOOL PHASE SECS RSS_KIB CPU SERVER_CPU": LABEL names the run (round1,
workers=32, transfers=16, lat-workers=8, lat, growth5000), TOOL is mirror,
mc or rclone, PHASE is full (a copy into an empty bucket) or no-change (the
re-run). Tables are printed for the sections that ran.
"""

import statistics
import sys
from collections import defaultdict

TOOLS = ("mirror", "mc", "rclone")


def load(path):
    """(label, tool, phase) -> [(secs, rss MiB, tool CPU s, servers' CPU s)]."""
    by = defaultdict(list)
    with open(path) as f:
        for line in f:
            if not line.strip():
                continue
            label, tool, phase, secs, rss_kib, tcpu, scpu = line.split()
            by[(label, tool, phase)].append(
                (float(secs), int(rss_kib) // 1024, float(tcpu), float(scpu))
            )
    return by


def labels(by, prefix):
    """The labels PREFIX<number> that ran, by number."""
    found = {label for (label, _, _) in by if label.startswith(prefix)}
    return sorted(found, key=lambda label: int(label[len(prefix) :]))


def med(by, label_prefix, tool, phase):
    xs = [
        x
        for (label, t, p), v in by.items()
        if label.startswith(label_prefix) and t == tool and p == phase
        for x in v
    ]
    if not xs:
        return None
    return (
        statistics.median(x[0] for x in xs),
        max(x[1] for x in xs),
        len(xs),
        statistics.median(x[2] for x in xs),
        statistics.median(x[3] for x in xs),
    )


def one_run_row(by, label, tool):
    """full copy, re-run, peak RSS, CPU of the full copy: one run's cells."""
    f, n = by[(label, tool, "full")][0], by[(label, tool, "no-change")][0]
    return f"{f[0]:.1f} s | {n[0]:.2f} s | {max(f[1], n[1])} MiB | {f[2]:.1f} + {f[3]:.1f} |"


def rounds(by, names):
    if not any(k[0].startswith("round") for k in by):
        return
    print(
        "| tool | full copy | no-change re-run | peak RSS (full / re-run) | CPU s, full copy (tool + servers) | CPU s, re-run (tool + servers) | rounds |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    base = {}
    for tool in TOOLS:
        f, n = med(by, "round", tool, "full"), med(by, "round", tool, "no-change")
        if f and n:
            base[tool] = (f[0], n[0])
            print(
                f"| {names[tool]} | {f[0]:.1f} s | {n[0]:.2f} s | {f[1]} / {n[1]} MiB | {f[3]:.1f} + {f[4]:.1f} | {n[3]:.2f} + {n[4]:.2f} | {f[2]} |"
            )
    if "mirror" in base:
        for tool in ("mc", "rclone"):
            if tool in base:
                print(
                    f"\nmirror vs {tool}: full copy {base[tool][0] / base['mirror'][0]:.2f}x faster, no-change re-run {base[tool][1] / base['mirror'][1]:.2f}x faster",
                    end="",
                )
        print()


def sweep(by, prefix, tool, title):
    found = labels(by, prefix)
    if not found:
        return
    print(
        f"\n| {title} | full copy | no-change re-run | peak RSS | CPU s, full copy (tool + servers) |"
    )
    print("|---:|---:|---:|---:|---:|")
    for label in found:
        print(f"| {label[len(prefix) :]} | {one_run_row(by, label, tool)}")


def latency(by, names, lat_delay, lat_objects):
    lw = labels(by, "lat-workers=")
    if not lw and ("lat", "mc", "full") not in by:
        return
    print(
        f"\nWith {lat_delay} added to every request ({lat_objects} small objects, no large segment):\n"
    )
    print(
        "| tool | full copy | no-change re-run | peak RSS | CPU s, full copy (tool + servers) |"
    )
    print("|---|---:|---:|---:|---:|")
    rows = [
        (f"mirror --workers {label.split('=')[1]}", label, "mirror") for label in lw
    ]
    rows += [(names["mc"], "lat", "mc"), (names["rclone"], "lat", "rclone")]
    for name, label, tool in rows:
        if (label, tool, "full") in by:
            print(f"| {name} | {one_run_row(by, label, tool)}")


def growth(by):
    gs = labels(by, "growth")
    if not gs:
        return
    print(
        "\n| objects (4 KiB max) | mirror full / re-run | mirror peak RSS | mc full / re-run | mc peak RSS | rclone full / re-run | rclone peak RSS |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for label in gs:
        cells = []
        for tool in TOOLS:
            f, n = by.get((label, tool, "full")), by.get((label, tool, "no-change"))
            if f and n:
                cells += [
                    f"{f[0][0]:.1f} s / {n[0][0]:.2f} s",
                    f"{max(f[0][1], n[0][1])} MiB",
                ]
            else:
                cells += ["-", "-"]
        print(f"| {label[6:]} | " + " | ".join(cells) + " |")


def main(path, objects, big, best_t, lat_delay, lat_objects):
    by = load(path)
    print(
        f"Tree: {objects} small objects + segments of {big} MiB. Median of alternating rounds; RSS is the peak over them.\n"
    )
    names = {
        "mirror": "mirror --workers 32",  # the rounds run the default
        "mc": "mc mirror --overwrite",
        "rclone": f"rclone sync --transfers {best_t} --checkers {2 * int(best_t)}",
    }
    rounds(by, names)
    sweep(by, "workers=", "mirror", "mirror --workers")
    sweep(by, "transfers=", "rclone", "rclone --transfers (checkers 2x)")
    latency(by, names, lat_delay, lat_objects)
    growth(by)


if __name__ == "__main__":
    main(*sys.argv[1:])
