"""Server CPU per request kind, one user at a time (no saturation): where the load benchmark's
CPU goes.

    DEMO_PASSWORD=bench-password .venv/bin/python benchmarks/load/cpu.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_ops --rounds 10

Starts gunicorn as ``run.py`` does (``gunicorn.conf.py``) but with one worker, logs in as each
role through the form, and replays the role's recorded journey (``traffic/``, the same requests
in the same order as ``locustfile.py``) ``--rounds`` times, one request after another. For
each request kind it reports the worker's CPU per request (the sum over its threads, read from
``/proc/<pid>/task/*/schedstat`` in nanoseconds), on PostgreSQL the CPU of the database
backends serving the worker's connections (parallel query workers, which come and go, are not
counted), the wall time, and how much CPU this client spent per request (a Locust user costs
about as much; in the load benchmark all three share the machine). The first round of each
role is a warm-up (empty query caches) and is not counted unless ``--count-warm-up``.

Under load, requests per second ≈ cores / mean CPU per request (Little's law), so the mean in
the last line is the number to bring down.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import time
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path

import psutil
import requests
from sqlalchemy import Connection, create_engine, text

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from replay import SHELL, Step, load_traffic, page_steps  # noqa: E402
from run import start_gunicorn  # noqa: E402

ROLES = (("manager", "manager", 4), ("privacy", "privacy", 1))


def thread_cpu(pid: int) -> dict[str, int]:
    """CPU nanoseconds of each live thread of ``pid`` (``/proc/<pid>/task/*/schedstat``: exact,
    where the process's own counters tick in 10 ms steps)."""
    out = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as handle:
                out[tid] = int(handle.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass  # the thread ended meanwhile
    return out


def backend_pids(conn: Connection | None) -> list[int]:
    """The PostgreSQL backends connected to the benchmark's database, except this one."""
    if conn is None:
        return []
    query = text(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid() AND backend_type = 'client backend'"
    )
    return [pid for (pid,) in conn.execute(query)]


def processes_cpu(pids: list[int]) -> dict[str, int]:
    out = {}
    for pid in pids:
        try:
            with open(f"/proc/{pid}/schedstat") as handle:
                out[str(pid)] = int(handle.read().split()[0])
        except (FileNotFoundError, ProcessLookupError):
            pass
    return out


def cpu_between(before: dict[str, int], after: dict[str, int]) -> float:
    """Milliseconds the threads used between two :func:`thread_cpu` readings; a thread that
    ended in between is not counted (the partner ranking's short-lived look-up threads)."""
    return sum(ns - before.get(tid, 0) for tid, ns in after.items()) / 1e6


def client_cpu() -> float:
    times = os.times()
    return times.user + times.system


def log_in(session: requests.Session, base: str, username: str, password: str) -> None:
    page = session.get(f"{base}/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    response = session.post(
        f"{base}/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": token.group(1) if token else "",
            "next": "/",
        },
        allow_redirects=False,
    )
    if response.status_code != 302:
        raise SystemExit(f"login as {username} failed: HTTP {response.status_code}")


def journey(traffic: dict) -> list[Step]:
    """The role's journey as ``locustfile.py`` sends it; the shell's three requests are told
    apart (``shell: page``, ``shell: /_dash-layout``, ``shell: /_dash-dependencies``)."""
    steps = [s for path in traffic["paths"] for s in page_steps(traffic, path)]
    return [
        s._replace(kind=f"shell: {s.path if s.path.startswith('/_dash-') else 'page'}")
        if s.kind == SHELL
        else s
        for s in steps
    ]


def measure(
    base: str, worker: int, db: Connection | None, rounds: int, count_warm_up: bool
) -> dict:
    password = os.environ.get("DEMO_PASSWORD", "demo")
    app_ms: dict[str, list[float]] = defaultdict(list)
    db_ms: dict[str, list[float]] = defaultdict(list)
    wall: dict[str, list[float]] = defaultdict(list)
    mix_app = mix_db = client_total = 0.0
    mix = {role: weight for role, _, weight in ROLES}
    for role, username, weight in ROLES:
        session = requests.Session()
        log_in(session, base, username, password)
        for round_ in range(rounds):
            for kind, method, path, body in journey(load_traffic(role)):
                backends = backend_pids(db)
                app0, db0 = thread_cpu(worker), processes_cpu(backends)
                client0, wall0 = client_cpu(), time.perf_counter()
                response = session.request(method, f"{base}{path}", json=body)
                wall1, client1 = time.perf_counter(), client_cpu()
                app1, db1 = thread_cpu(worker), processes_cpu(backend_pids(db))
                if response.status_code != 200:
                    raise SystemExit(f"{kind}: HTTP {response.status_code} {response.text[:200]}")
                if round_ == 0 and not count_warm_up:
                    continue
                app_ms[kind].append(cpu_between(app0, app1))
                db_ms[kind].append(cpu_between(db0, db1))
                wall[kind].append((wall1 - wall0) * 1000)
                mix_app += weight * app_ms[kind][-1]
                mix_db += weight * db_ms[kind][-1]
                client_total += client1 - client0
    counted = rounds - (0 if count_warm_up else 1)
    # the load benchmark's mix: 4 managers to 1 privacy officer, each looping over its journey
    mix_requests = counted * sum(mix[role] * len(journey(load_traffic(role))) for role in mix)
    return {
        "rows": [
            {
                "kind": kind,
                "requests": len(app_ms[kind]),
                "app_cpu_ms": round(statistics.fmean(app_ms[kind]), 2),
                "db_cpu_ms": round(statistics.fmean(db_ms[kind]), 2),
                "wall_ms_p50": round(statistics.median(wall[kind]), 1),
            }
            for kind in sorted(app_ms)
        ],
        "mix_app_cpu_ms": round(mix_app / mix_requests, 2),
        "mix_db_cpu_ms": round(mix_db / mix_requests, 2),
        "client_cpu_ms": round(1000 * client_total / sum(len(v) for v in app_ms.values()), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--port", type=int, default=8093)
    parser.add_argument("--count-warm-up", action="store_true")
    parser.add_argument("--out", default="/tmp/pod-load-cpu")
    parser.add_argument("--json")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    os.environ["WEB_CONCURRENCY"] = "1"  # one worker: its CPU is the requests'
    proc = start_gunicorn(args.database_url, args.port, out / "gunicorn.log")
    engine = create_engine(args.database_url)
    try:
        (worker,) = psutil.Process(proc.pid).children()
        with ExitStack() as stack:
            db = None
            if engine.dialect.name == "postgresql":
                db = stack.enter_context(
                    engine.connect().execution_options(isolation_level="AUTOCOMMIT")
                )
            result = measure(
                f"http://127.0.0.1:{args.port}", worker.pid, db, args.rounds, args.count_warm_up
            )
    finally:
        engine.dispose()
        proc.terminate()
        proc.wait(30)
    result["load_average"] = [round(x, 1) for x in os.getloadavg()]
    print(f"{'request kind':42} {'n':>4} {'app CPU':>8} {'DB CPU':>7} {'wall p50':>8}  (ms)")
    for row in result["rows"]:
        print(
            f"{row['kind']:42} {row['requests']:4} {row['app_cpu_ms']:8.2f} "
            f"{row['db_cpu_ms']:7.2f} {row['wall_ms_p50']:8.1f}"
        )
    print(
        f"mean CPU per request in the 4:1 mix: app {result['mix_app_cpu_ms']} ms, database "
        f"{result['mix_db_cpu_ms']} ms; this client {result['client_cpu_ms']} ms; "
        f"load average {result['load_average']}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
