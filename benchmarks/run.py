"""Time the data layer on a generated database of a given size.

    .venv/bin/python benchmarks/run.py --leads 1000000 [--database-url URL] [--json FILE]
                                       [--repeat 7] [--runs 1] [--busy] [--target-ms 100]
                                       [--seed 42] [--as-of YYYY-MM-DD] [--rebuild]

Builds the demo database (or reuses it when its ``data_meta`` already records the same number
of leads and seed, and its schema is current), then runs every case of every module in
``benchmarks/cases`` ``--repeat`` times, the first (cold) run included, and prints the median
and 95th percentile per case. ``--runs N`` repeats the whole set N times and prints each run's
p95 beside the worst, so the spread a reader should expect is on the page; ``--busy`` keeps a
second, CPU-bound process running meanwhile (what the figures become on a shared machine);
cases whose worst p95 exceeds ``--target-ms`` are listed at the end. A naive baseline (read
all of ``lead_share`` joined to ``review`` into pandas and aggregate per partner there) is timed
too, and its ratio to the data-layer cases printed, so the README can quote how much
aggregating in SQL saves. Before the cases run, the standard periods' ready-made totals are
brought to the demo's day for every filter the partners page offers, as the nightly
``rollups-warm`` keeps them in production.

Without ``--database-url`` the database is an SQLite file ``/tmp/pod-bench/leads-N.db``.
"""

from __future__ import annotations

import argparse
import gc
import importlib
import json
import os
import pkgutil
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

PROJECT_ROOT = Path(__file__).resolve().parent.parent
if str(PROJECT_ROOT) not in sys.path:
    sys.path.insert(0, str(PROJECT_ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sqlalchemy import Engine, select, text  # noqa: E402

import benchmarks.cases as cases_package  # noqa: E402
from benchmarks.cases import BenchContext, Case  # noqa: E402
from data.db import make_engine, schema_is_current  # noqa: E402
from data.demo import build_demo  # noqa: E402
from data.models import Trade  # noqa: E402
from data.rollups import warm_presets  # noqa: E402
from data.timeutil import today  # noqa: E402

DEFAULT_DIR = Path("/tmp/pod-bench")
SAMPLE_TRADE = "plumbing"
SAMPLE_PROVINCE = "Gauteng"
BENCH_PASSWORD = "bench-password"
BASELINE_NAME = "baseline: pandas read_sql(lead_share ⟕ review) per partner"
BASELINE_SQL = """
SELECT ls.*, r.rating
FROM lead_share ls
LEFT JOIN review r
  ON r.lead_id = ls.lead_id AND r.partner_id = ls.partner_id
 AND r.author_side = 'homeowner_about_partner'
"""


@dataclass
class Result:
    name: str
    filter_label: str
    samples_ms: list[float]
    run_p95s: list[float] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.name} [{self.filter_label}]"

    @property
    def median_ms(self) -> float:
        return statistics.median(self.samples_ms)

    @property
    def p95_ms(self) -> float:
        return float(np.percentile(self.samples_ms, 95))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--leads", type=int, required=True, help="leads in the generated database")
    parser.add_argument("--database-url", help="default: sqlite:////tmp/pod-bench/leads-N.db")
    parser.add_argument("--json", type=Path, help="write the results to this JSON file")
    parser.add_argument("--repeat", type=int, default=7, help="runs per case (first one counted)")
    parser.add_argument("--runs", type=int, default=1, help="full runs of every case")
    parser.add_argument(
        "--busy", action="store_true", help="run a CPU-bound process beside the benchmark"
    )
    parser.add_argument(
        "--target-ms", type=float, default=100.0, help="list cases whose worst p95 exceeds this"
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--as-of", type=date.fromisoformat, default=None, help="demo date when building (today)"
    )
    parser.add_argument("--rebuild", action="store_true", help="build even if the data matches")
    parser.add_argument(
        "--baseline-repeat",
        type=int,
        default=3,
        help="runs of the (slow) pandas baseline; 0 skips it",
    )
    parser.add_argument(
        "--only",
        action="append",
        metavar="MODULE",
        help="run only this case module of benchmarks/cases (repeatable), e.g. partners",
    )
    args = parser.parse_args(argv)
    known = {m.name for m in pkgutil.iter_modules(cases_package.__path__)}
    unknown = sorted(set(args.only or ()) - known)
    if unknown:
        parser.error(f"unknown case module(s) {unknown}; known: {sorted(known)}")
    return args


def data_meta(engine: Engine) -> dict[str, str]:
    try:
        with engine.connect() as conn:
            return dict(conn.execute(text("SELECT key, value FROM data_meta")).all())
    except Exception:  # no schema yet, or an old one: rebuild
        return {}


def prepare_database(args: argparse.Namespace) -> tuple[Engine, date]:
    """The engine and demo date of a database holding exactly ``--leads`` leads of ``--seed``."""
    url = args.database_url or f"sqlite:///{DEFAULT_DIR / f'leads-{args.leads}.db'}"
    engine = make_engine(url)
    meta = data_meta(engine)
    reusable = (
        not args.rebuild
        and meta.get("demo_leads") == str(args.leads)
        and meta.get("demo_seed") == str(args.seed)
        and schema_is_current(engine)
    )
    if reusable:
        print(f"reusing {engine.url.render_as_string()} ({args.leads:,} leads, seed {args.seed})")
        return engine, date.fromisoformat(meta["demo_as_of"])
    as_of = args.as_of or today()
    print(f"building {args.leads:,} leads (seed {args.seed}, as of {as_of}) ...")
    summary = build_demo(
        engine, leads=args.leads, seed=args.seed, as_of=as_of, password=BENCH_PASSWORD
    )
    print(f"built in {summary.seconds:.1f} s\n")
    return engine, as_of


def discover(ctx: BenchContext, only: list[str] | None = None) -> tuple[list[Case], list[str]]:
    """Every case of every module in ``benchmarks/cases`` (modules starting with _ skipped;
    only those named in ``only`` when given), and the modules that failed to provide theirs
    (reported, and the run exits non-zero)."""
    found: list[Case] = []
    failed: list[str] = []
    for module in sorted(pkgutil.iter_modules(cases_package.__path__), key=lambda m: m.name):
        if module.name.startswith("_") or (only and module.name not in only):
            continue
        try:
            loaded = importlib.import_module(f"{cases_package.__name__}.{module.name}")
            found.extend(loaded.cases(ctx))
        except Exception as exc:  # one broken module must not hide the others' numbers
            print(f"error: benchmarks/cases/{module.name}.py: {type(exc).__name__}: {exc}")
            failed.append(module.name)
    return found, failed


def time_calls(
    run: Callable[[], Any], repeat: int, reset: Callable[[], None] | None = None
) -> list[float]:
    samples = []
    for _ in range(repeat):
        if reset is not None:
            reset()
        began = time.perf_counter()
        run()
        samples.append((time.perf_counter() - began) * 1000)
    return samples


def baseline(engine: Engine) -> pd.DataFrame:
    """The naive approach: every share row into pandas, then per-partner counts and ratings."""
    with engine.connect() as conn:
        frame = pd.read_sql(text(BASELINE_SQL), conn)
    return frame.groupby("partner_id").agg(
        shares=("id", "size"),
        contacted=("first_contact_at", "count"),
        hired=("hired_at", "count"),
        reviews=("rating", "count"),
        mean_rating=("rating", "mean"),
    )


def context(engine: Engine, as_of: date, leads: int) -> BenchContext:
    with engine.connect() as conn:
        trade_id = conn.execute(select(Trade.id).where(Trade.code == SAMPLE_TRADE)).scalar_one()
    return BenchContext(
        engine=engine, as_of=as_of, trade_id=trade_id, province=SAMPLE_PROVINCE, leads=leads
    )


def print_table(results: list[Result]) -> None:
    """Median and p95 over every sample; with several runs, also each run's p95."""
    width = max([len(r.name) for r in results] + [4])
    labels = max([len(r.filter_label) for r in results] + [6])
    runs = len(results[0].run_p95s) if results else 0
    extra = "  p95 per run" if runs > 1 else ""
    print(f"{'case':<{width}}  {'filter':<{labels}}{'median ms':>12}{'p95 ms':>12}{extra}")
    print("-" * (width + labels + 26 + len(extra)))
    for r in results:
        per_run = "  " + " / ".join(f"{p:.0f}" for p in r.run_p95s) if runs > 1 else ""
        line = f"{r.name:<{width}}  {r.filter_label:<{labels}}{r.median_ms:>12.1f}{r.p95_ms:>12.1f}"
        print(line + per_run)


@contextmanager
def cpu_hog(enabled: bool) -> Iterator[None]:
    """A second process spinning on one core while the block runs (``--busy``)."""
    if not enabled:
        yield
        return
    hog = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        yield
    finally:
        hog.kill()
        hog.wait()


def run_cases(cases: list[Case], repeat: int, runs: int) -> list[Result]:
    """Every case ``repeat`` times per run, ``runs`` times over (the runs interleave, so a
    disturbance lasting a few seconds touches one run of many cases, not every run of one)."""
    results = [Result(case.name, case.filter_label, []) for case in cases]
    for _ in range(runs):
        for case, result in zip(cases, results, strict=True):
            samples = time_calls(case.run, repeat, case.reset)
            result.samples_ms.extend(samples)
            result.run_p95s.append(float(np.percentile(samples, 95)))
    return results


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("SUPPRESSION_KEY", "benchmark-suppression-key")
    engine, as_of = prepare_database(args)
    ctx = context(engine, as_of, args.leads)
    # what the nightly ``rollups-warm`` does in production, for the day the cases ask for: the
    # app, run on this database on a later day, moves them past it (then the default views
    # would be timed on the running totals, the custom-range path)
    moved = warm_presets(engine, as_of, exactly=True)
    if moved:
        print(f"standard periods' totals brought to {as_of} for {moved} filter(s)")
    database = engine.dialect.name

    cases, failed = discover(ctx, args.only)
    # as a worker of the app does once it has started (app.create_dash): what is built so far
    # lives as long as the process, so the cyclic collector's full passes inside a timed call
    # walk only what the calls made (an aggregate table of 11 000 cells: ~75 → ~15 ms)
    gc.freeze()
    machine = "busy" if args.busy else "quiet"
    print(f"{machine} machine ({os.cpu_count()} cores), {args.runs} run(s) of {args.repeat}")
    with cpu_hog(args.busy):
        results = run_cases(cases, args.repeat, args.runs)
        if args.baseline_repeat < 1:
            base = None
        else:
            samples = time_calls(lambda: baseline(engine), args.baseline_repeat)
            base = Result(BASELINE_NAME, "default", samples)
    if results:
        print_table(results)
    else:
        print("no benchmark cases found in benchmarks/cases")
    if base:
        print(f"\n{BASELINE_NAME}: median {base.median_ms:.0f} ms, p95 {base.p95_ms:.0f} ms")
    if results and base:
        slowest = max(results, key=lambda r: r.median_ms)
        typical = statistics.median(r.median_ms for r in results)
        print(
            f"baseline / slowest case ({slowest.label}, {slowest.median_ms:.1f} ms): "
            f"{base.median_ms / slowest.median_ms:.0f}x"
        )
        print(f"baseline / median case ({typical:.1f} ms): {base.median_ms / typical:.0f}x")
    over = [r for r in results if max(r.run_p95s) > args.target_ms]
    if over:
        print(f"\nover {args.target_ms:.0f} ms (worst run's p95):")
        for r in over:
            print(f"  {r.label}: {max(r.run_p95s):.0f} ms")

    if args.json:
        rows = [
            {
                "name": r.label,
                "leads": args.leads,
                "database": database,
                "busy": args.busy,
                "median_ms": round(r.median_ms, 3),
                "p95_ms": round(r.p95_ms, 3),
                "p95_per_run_ms": [round(p, 3) for p in r.run_p95s],
            }
            for r in [*results, *([base] if base else [])]
        ]
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(rows, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
