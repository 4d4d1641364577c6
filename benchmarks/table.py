"""Merge the JSON files of several ``benchmarks/run.py --json`` runs into one Markdown table.

    .venv/bin/python benchmarks/table.py sqlite=/tmp/s1.json,/tmp/s2.json,/tmp/s-busy.json \
                                         postgresql=/tmp/p1.json,/tmp/p-busy.json

One row per case; per database, the p95 of every quiet run (spread: lowest–highest) and of
every busy run (``--busy``), in milliseconds. Cases whose worst p95 exceeds ``--target-ms``
are marked, so the README shows at a glance what holds on a shared machine.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path


def spread(values: list[float]) -> str:
    if not values:
        return "–"
    low, high = min(values), max(values)
    fmt = "{:.0f}" if high >= 10 else "{:.1f}"
    return fmt.format(low) if len(values) == 1 else f"{fmt.format(low)}–{fmt.format(high)}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("groups", nargs="+", help="label=FILE[,FILE…] (one label per database)")
    parser.add_argument("--target-ms", type=float, default=100.0)
    args = parser.parse_args(argv)
    labels: list[str] = []
    quiet: dict[tuple[str, str], list[float]] = defaultdict(list)
    busy: dict[tuple[str, str], list[float]] = defaultdict(list)
    order: list[str] = []
    for group in args.groups:
        label, _, files = group.partition("=")
        labels.append(label)
        for file in files.split(","):
            for row in json.loads(Path(file).read_text()):
                if row["name"] not in order:
                    order.append(row["name"])
                runs = row.get("p95_per_run_ms") or [row["p95_ms"]]
                (busy if row.get("busy") else quiet)[(label, row["name"])].extend(runs)
    header = "| case [filter] | " + " | ".join(f"{x} quiet | {x} busy" for x in labels) + " |"
    print(header)
    print("|---|" + "---:|---:|" * len(labels))
    for name in order:
        cells = []
        for label in labels:
            q, b = quiet[(label, name)], busy[(label, name)]
            worst = max(q + b, default=0.0)
            mark = " **!**" if worst > args.target_ms and "baseline" not in name else ""
            cells += [spread(q), spread(b) + mark]
        print(f"| {name} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
