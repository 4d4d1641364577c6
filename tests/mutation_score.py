"""The mutation score per module, from the results ``mutmut run`` left in ``mutants/``.

Run by ``make mutation`` after ``mutmut run`` (docs/testing.md): prints killed / total per
mutated file and overall, lists every mutant that was not killed, and exits 1 when the overall
score is under ``--minimum`` percent (90 by default). A mutant is killed when a test failed (or
timed out: an infinite loop the tests stopped) with it in place.

Not a test module (no ``test_`` prefix): pytest never collects it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

KILLED = {1, 3}  # pytest failed (3: an internal error, also a kill)
TIMEOUT = {24, -24, 36, 152, 255}
LABELS = {0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", None: "not checked"}


def scores(root: Path) -> tuple[list[tuple[str, int, int]], list[tuple[str, str]]]:
    """(module, killed, total) per mutated file, and (mutant, status) of every one not killed."""
    per_module = []
    not_killed = []
    for meta in sorted(root.rglob("*.py.meta")):
        module = str(meta.relative_to(root)).removesuffix(".meta")
        results = json.loads(meta.read_text())["exit_code_by_key"]
        killed = sum(1 for code in results.values() if code in KILLED | TIMEOUT)
        per_module.append((module, killed, len(results)))
        for name, code in sorted(results.items()):
            if code not in KILLED | TIMEOUT:
                not_killed.append((name, LABELS.get(code, f"suspicious (exit {code})")))
    return per_module, not_killed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mutants", type=Path, default=Path("mutants"))
    parser.add_argument("--minimum", type=float, default=90.0)
    args = parser.parse_args()
    per_module, not_killed = scores(args.mutants)
    if not per_module:
        print(f"no mutmut results under {args.mutants}/: run `mutmut run` first")
        return 1
    print(f"{'module':<34} {'killed':>7} {'total':>6} {'score':>7}")
    for module, killed, total in per_module:
        print(f"{module:<34} {killed:>7} {total:>6} {100 * killed / total:>6.1f}%")
    killed = sum(k for _, k, _ in per_module)
    total = sum(t for _, _, t in per_module)
    overall = 100 * killed / total
    print(f"{'overall':<34} {killed:>7} {total:>6} {overall:>6.1f}%")
    if not_killed:
        print(f"\nnot killed ({len(not_killed)}; `mutmut show NAME` prints the change):")
        for name, status in not_killed:
            print(f"  {name}: {status}")
    if overall < args.minimum:
        print(f"\nmutation score {overall:.1f}% is under the minimum {args.minimum:.0f}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
