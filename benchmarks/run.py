"""Run the benchmarks, print a table and write benchmarks/report.json.

    python benchmarks/run.py [--quick] [--only NAME] [--out FILE]
"""

from __future__ import annotations

import argparse
import compileall
import importlib
import json
import sys
import time
import traceback
from pathlib import Path

from common import ROOT, Config, Result, machine_info

HERE = Path(__file__).resolve().parent
BENCHMARKS = ("generation", "overhead", "latency", "scale", "video", "writer", "reaction", "results", "batch")
FULL_REPS, QUICK_REPS = 5, 2


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="creative performance benchmarks")
    parser.add_argument("--quick", action="store_true",
                        help=f"{QUICK_REPS} repetitions and shorter videos (development only)")
    parser.add_argument("--only", choices=BENCHMARKS, action="append",
                        help="run only this benchmark (repeatable)")
    parser.add_argument("--out", type=Path, default=HERE / "report.json",
                        help="report file (default benchmarks/report.json)")
    return parser.parse_args(argv)


def precompile() -> bool:
    """Compile the package's bytecode, as `pip install` does for an installed tool.

    The checkout is installed in editable mode, and where PYTHONDONTWRITEBYTECODE is set (as on
    the machine these figures come from) every `creative` process would otherwise compile all of
    its modules from source again: about 0.15 s that no installed copy pays.
    """
    return compileall.compile_dir(ROOT / "src" / "creative", quiet=1)


def run_one(name: str, cfg: Config) -> tuple[list[Result], float, str | None]:
    """(results, seconds, error) of one benchmark module; a crash is reported, not fatal."""
    module = importlib.import_module(f"bench_{name}")
    print(f"running {name} ...", file=sys.stderr, flush=True)
    start = time.perf_counter()
    try:
        results = module.run(cfg)
        error = None
    except Exception:  # one broken benchmark must not hide the others' figures
        results, error = [], traceback.format_exc()
        print(error, file=sys.stderr)
    return results, time.perf_counter() - start, error


def table(results: list[Result]) -> str:
    """The short stdout table: one line per figure."""
    head = f"{'benchmark':<44} {'median':>10} {'min':>10} {'max':>10} {'n':>3} {'target':>12}  ok"
    lines = [head, "-" * len(head)]
    for r in results:
        ok = {True: "PASS", False: "FAIL", None: "info"}[r.passed]
        lines.append(f"{r.name:<44} {_fmt(r.median, r.unit):>10} {_fmt(r.min, r.unit):>10} {_fmt(r.max, r.unit):>10} "
                     f"{r.n:>3} {r.target + ' ' + r.unit if r.target != '-' else '-':>12}  {ok}")
    return "\n".join(lines)


def _fmt(value: float, unit: str) -> str:
    return f"{value:.0f}" if unit in ("bytes", "MB") and abs(value) >= 100 else f"{value:.3f}"


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cfg = Config(reps=QUICK_REPS if args.quick else FULL_REPS, quick=args.quick)
    machine = {**machine_info(), "bytecode_precompiled": precompile()}
    report = {"machine": machine, "quick": args.quick, "reps": cfg.reps, "benchmarks": {}, "results": []}
    all_results: list[Result] = []
    for name in args.only or BENCHMARKS:
        results, seconds, error = run_one(name, cfg)
        report["benchmarks"][name] = {"seconds": round(seconds, 1), "error": error}
        all_results.extend(results)
    report["results"] = [r.to_dict() for r in all_results]
    report["notes"] = {r.name: r.notes for r in all_results if r.notes}
    report["passed"] = all(r.passed is not False for r in all_results) and not any(
        b["error"] for b in report["benchmarks"].values())
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(all_results))
    for name, note in report["notes"].items():
        print(f"\n{name}: {note}")
    print(f"\nreport: {args.out}")
    return 0 if report["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
