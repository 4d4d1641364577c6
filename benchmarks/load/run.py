"""The load benchmark (issue 17): gunicorn as the README serves it, driven by Locust.

    .venv/bin/python benchmarks/load/run.py \\
        --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_ops \\
        --levels 10,25,50 --seconds 60 --slow-clients --outage --json load.json

Runs the nightly ``rollups-warm``, starts ``gunicorn -c gunicorn.conf.py app:server`` on the
database (built beforehand with ``flask --app app demo-data --leads N``), waits for
``/healthz``, then for each level runs ``locust`` headless (``locustfile.py``: 4 managers : 1
privacy officer replaying the recorded traffic in ``traffic/``, pausing ``--think`` seconds on
average between pages) and reports per request kind: requests per second, errors, p50, p95,
p99 (ms), and the CPU a gunicorn worker used on average (% of one core, from ``psutil``; workers
replaced during the level count too). Then:

* ``--slow-clients``: the largest level again with four clients each sending a request body one
  byte every 2 s (POST ``/login`` with a 4 000-byte ``Content-Length``) for the whole run;
* ``--outage``: a second gunicorn whose database is reached through a TCP proxy
  (``tests/tcp_proxy.py``), 10 users, the proxy cut for 10 s in the middle: the failures, the
  time from the database's return to the first healthy answer, and the log lines written.

Locust runs on the same machine as the app and takes CPU from it: each level reports Locust's
own CPU too (``FastHttpUser``, see ``locustfile.py``).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections import Counter
from pathlib import Path

import psutil
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT))

from tests.tcp_proxy import TcpProxy  # noqa: E402

VENV_BIN = Path(sys.executable).parent


def warm_rollups(database_url: str) -> None:
    """``flask --app app rollups-warm``, as the nightly job of the README's production section
    does: the day's first ranking of each standard period otherwise recomputes its ready-made
    totals (1–2 s at 1M) inside the first users' requests."""
    env = dict(os.environ, DATABASE_URL=database_url)
    env.setdefault("SECRET_KEY", "load-benchmark")
    command = [str(VENV_BIN / "flask"), "--app", "app", "rollups-warm"]
    subprocess.run(command, cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)


def start_gunicorn(database_url: str, port: int, log: Path) -> subprocess.Popen:
    env = dict(os.environ)
    env.update(
        DATABASE_URL=database_url,
        SECRET_KEY=env.get("SECRET_KEY", "load-benchmark"),
        INSTANCE_PATH=env.get("INSTANCE_PATH", f"/tmp/pod-load-{port}"),
        BIND=f"127.0.0.1:{port}",
    )
    env.pop("REDIS_URL", None) if not os.environ.get("LOAD_REDIS_URL") else env.update(
        REDIS_URL=os.environ["LOAD_REDIS_URL"]
    )
    handle = log.open("w")
    proc = subprocess.Popen(
        [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py", "app:server"],
        cwd=ROOT,
        env=env,
        stdout=handle,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.5)
    proc.terminate()
    raise SystemExit(f"gunicorn did not become healthy; see {log}")


def workers_cpu(proc: subprocess.Popen) -> float:
    """CPU seconds of all gunicorn workers so far: the live ones plus those gunicorn has
    already replaced (``max_requests``) and reaped, which count in the master's children."""
    master = psutil.Process(proc.pid)
    reaped = master.cpu_times()
    total = reaped.children_user + reaped.children_system
    for p in master.children():
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            pass  # exited between the listing and the read: counted with the reaped next time
    return total


def run_locust(port: int, users: int, seconds: int, prefix: Path, think: float = 0.0) -> None:
    subprocess.run(
        [
            str(VENV_BIN / "locust"),
            "-f",
            str(HERE / "locustfile.py"),
            "--headless",
            "-u",
            str(users),
            "-r",
            str(users),
            "-t",
            f"{seconds}s",
            "--host",
            f"http://127.0.0.1:{port}",
            "--csv",
            str(prefix),
            "--only-summary",
            "--think",
            str(think),
            "--loglevel",
            "WARNING",
        ],
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def read_stats(prefix: Path) -> list[dict]:
    rows = []
    with open(f"{prefix}_stats.csv") as handle:
        for row in csv.DictReader(handle):
            rows.append(
                {
                    "kind": row["Name"],
                    "requests": int(row["Request Count"]),
                    "errors": int(row["Failure Count"]),
                    "rps": round(float(row["Requests/s"]), 1),
                    "p50": float(row["50%"] or 0),
                    "p95": float(row["95%"] or 0),
                    "p99": float(row["99%"] or 0),
                }
            )
    return rows


def children_cpu() -> float:
    """CPU seconds of this process's finished children (Locust, once ``run_locust`` returns;
    gunicorn is still running, so it is not in here)."""
    times = os.times()
    return times.children_user + times.children_system


def level(proc, port: int, users: int, seconds: int, out: Path, label: str, think: float) -> dict:
    before, started, locust_before = workers_cpu(proc), time.monotonic(), children_cpu()
    run_locust(port, users, seconds, out / label, think)
    wall = time.monotonic() - started
    after, locust_cpu = workers_cpu(proc), children_cpu() - locust_before
    count = len(psutil.Process(proc.pid).children())
    cpu = round(100 * (after - before) / wall / max(count, 1))
    result = {
        "label": label,
        "users": users,
        "seconds": seconds,
        "cpu_per_worker": cpu,
        "locust_cpu": round(100 * locust_cpu / wall),
        "load_average_after": round(os.getloadavg()[0], 1),
        "stats": read_stats(out / label),
    }
    total = next(r for r in result["stats"] if r["kind"] == "Aggregated")
    print(
        f"{label}: {total['rps']} req/s, {total['errors']} errors, p95 {total['p95']} ms, "
        f"CPU per worker {cpu} % (mean of {count}), Locust {result['locust_cpu']} %, "
        f"load average {result['load_average_after']}",
        flush=True,
    )
    return result


class SlowClients:
    """Clients that send a request body one byte every ``interval`` seconds."""

    def __init__(self, port: int, count: int = 4, interval: float = 2.0) -> None:
        self.port, self.count, self.interval = port, count, interval
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._one, daemon=True) for _ in range(count)]

    def __enter__(self):
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc):
        self.stop.set()

    def _one(self) -> None:
        while not self.stop.is_set():
            try:
                sock = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                sock.sendall(
                    b"POST /login HTTP/1.1\r\nHost: x\r\n"
                    b"Content-Type: application/x-www-form-urlencoded\r\n"
                    b"Content-Length: 4000\r\n\r\n"
                )
                while not self.stop.wait(self.interval):
                    sock.sendall(b"a")
                sock.close()
            except OSError:
                time.sleep(self.interval)


def outage_check(database_url: str, port: int, out: Path) -> dict:
    url = make_url(database_url)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxied = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    log = out / "outage-gunicorn.log"
    proc = start_gunicorn(proxied, port, log)
    probes: list[tuple[float, int]] = []
    stop = threading.Event()

    def probe() -> None:
        while not stop.is_set():
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as r:
                    status = r.status
            except urllib.error.HTTPError as exc:
                status = exc.code
            except OSError:
                status = 0
            probes.append((time.monotonic(), status))
            time.sleep(0.05)

    lines_before = sum(1 for _ in log.open())
    threading.Thread(target=probe, daemon=True).start()
    locust = threading.Thread(target=run_locust, args=(port, 10, 40, out / "outage"))
    locust.start()
    time.sleep(10)
    proxy.cut()
    cut_at = time.monotonic()
    time.sleep(10)
    proxy.restore()
    restored_at = time.monotonic()
    locust.join()
    stop.set()
    proc.terminate()
    proc.wait(30)
    proxy.close()
    recovered = next((t for t, s in probes if t > restored_at and s == 200), None)
    entries = []
    for line in log.open().readlines()[lines_before:]:
        try:
            entries.append(json.loads(line))
        except ValueError:
            entries.append({"raw": line})
    request_lines = [e for e in entries if e.get("logger") == "ops.request"]
    failed_lines = [e for e in request_lines if e.get("status", 200) >= 500]
    stats = read_stats(out / "outage")
    total = next(r for r in stats if r["kind"] == "Aggregated")
    result = {
        "outage_seconds": round(restored_at - cut_at, 1),
        "failed_requests": total["errors"],
        "statuses_of_failed_lines": sorted({e["status"] for e in failed_lines}),
        "failed_request_lines": len(failed_lines),
        "other_log_lines": len(entries) - len(request_lines),
        "other_log_lines_by_logger": dict(
            Counter(e.get("logger", "raw") for e in entries if e.get("logger") != "ops.request")
        ),
        "probe_requests": sum(1 for t, _ in probes if t >= cut_at),
        "tracebacks": sum(1 for e in entries if "traceback" in e),
        "recovery_seconds": round(recovered - restored_at, 2) if recovered else None,
        "requests": total["requests"],
    }
    print(f"outage: {result}", flush=True)
    return result


def markdown(results: dict) -> str:
    lines = []
    for run in results["levels"]:
        lines.append(
            f"\n**{run['label']}** ({run['users']} users, {run['seconds']} s; CPU per "
            f"worker {run['cpu_per_worker']} % of a core; Locust {run['locust_cpu']} % of a "
            f"core; machine load average {run['load_average_after']})\n"
        )
        lines.append("| request kind | requests | errors | req/s | p50 ms | p95 ms | p99 ms |")
        lines.append("|---|---:|---:|---:|---:|---:|---:|")
        for r in run["stats"]:
            lines.append(
                f"| {r['kind']} | {r['requests']} | {r['errors']} | {r['rps']} | "
                f"{r['p50']:.0f} | {r['p95']:.0f} | {r['p99']:.0f} |"
            )
    return "\n".join(lines)


def readme_table(results: dict) -> str:
    """One table for the README: a column per level, a row per request kind (p50 / p95 / p99
    ms), then requests per second, errors and CPU per worker."""
    runs = results["levels"]
    kinds = [r["kind"] for r in runs[0]["stats"] if r["kind"] != "Aggregated"]
    head = "| request kind (p50 / p95 / p99 ms) | " + " | ".join(r["label"] for r in runs) + " |"
    lines = [head, "|---|" + "---:|" * len(runs)]
    for kind in kinds:
        cells = []
        for run in runs:
            row = next((r for r in run["stats"] if r["kind"] == kind), None)
            cells.append(f"{row['p50']:.0f} / {row['p95']:.0f} / {row['p99']:.0f}" if row else "")
        lines.append(f"| {kind} | " + " | ".join(cells) + " |")
    totals = [next(r for r in run["stats"] if r["kind"] == "Aggregated") for run in runs]
    lines.append(
        "| **all requests** | "
        + " | ".join(f"{t['p50']:.0f} / {t['p95']:.0f} / {t['p99']:.0f}" for t in totals)
        + " |"
    )
    lines.append("| requests per second | " + " | ".join(str(t["rps"]) for t in totals) + " |")
    lines.append(
        "| errors / requests | "
        + " | ".join(f"{t['errors']} / {t['requests']}" for t in totals)
        + " |"
    )
    lines.append(
        "| CPU per worker (% of a core) | "
        + " | ".join(str(run["cpu_per_worker"]) for run in runs)
        + " |"
    )
    lines.append(
        "| Locust's own CPU (% of a core) | "
        + " | ".join(str(run["locust_cpu"]) for run in runs)
        + " |"
    )
    lines.append(
        "| machine load average (1 min) | "
        + " | ".join(str(run["load_average_after"]) for run in runs)
        + " |"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--levels", default="10,25,50")
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--port", type=int, default=8061)
    parser.add_argument("--slow-clients", action="store_true")
    parser.add_argument("--outage", action="store_true")
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean seconds a user reads a page (0: none)"
    )
    parser.add_argument("--out", default="/tmp/pod-load")
    parser.add_argument("--json")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    levels = [int(x) for x in args.levels.split(",")]
    results: dict = {
        "levels": [],
        "conditions": {
            "cpus": psutil.cpu_count(),
            "database": make_url(args.database_url).render_as_string(),
            "gunicorn": "gunicorn.conf.py defaults (gthread, 2 workers per core, 4 threads)",
            "think_seconds": args.think,
        },
    }
    warm_rollups(args.database_url)
    proc = start_gunicorn(args.database_url, args.port, out / "gunicorn.log")
    try:
        for users in levels:
            results["levels"].append(
                level(proc, args.port, users, args.seconds, out, f"{users} users", args.think)
            )
        if args.slow_clients:
            users = max(levels)
            with SlowClients(args.port):
                results["levels"].append(
                    level(
                        proc,
                        args.port,
                        users,
                        args.seconds,
                        out,
                        f"{users} users + 4 slow clients",
                        args.think,
                    )
                )
    finally:
        proc.terminate()
        proc.wait(30)
    if args.outage:
        results["outage"] = outage_check(args.database_url, args.port + 1, out)
    text = markdown(results) + "\n\n" + readme_table(results)
    print(text)
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
