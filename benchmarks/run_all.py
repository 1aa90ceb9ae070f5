"""Run every benchmark in sequence and print their Markdown sections (`make bench`).

    .venv/bin/python benchmarks/run_all.py                    # all of them
    .venv/bin/python benchmarks/run_all.py --only flow_peers  # some of them
    .venv/bin/python benchmarks/run_all.py --no-peers         # without installing peers
    .venv/bin/python benchmarks/run_all.py --dry-run          # the commands it would run

The whole set takes about 90 minutes on 2 cores (walk_forward ~35, flow_peers ~15,
flow_latency ~13, flow_throughput ~8, backtest_peers ~5, api_load ~3, console_speed ~2,
pricing ~2, bracket_overhead ~4, orders_listing ~2, portable_math ~1, indicators <1,
scenario_risk <1).

Each benchmark runs in its own process (chdb allows one on-disk engine path per process, and
the peers live in their own environment). Benchmarks that compare with other libraries run
through `uv run --with <peer>` so the peers are installed for that run only; without uv (or
with --no-peers) they run in the project's environment and say which peer was not measured.
A failing benchmark prints its error in its section; the exit code says whether all passed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Bench:
    name: str
    peers: tuple[str, ...] = ()
    markdown: bool = True  # False: wrap the plain output in a section of our own
    title: str = ""


BENCHES = (
    Bench("pricing", peers=("py_vollib", "QuantLib")),
    Bench("indicators", markdown=False, title="Indicators and strategies (micro-benchmark)"),
    Bench("flow_throughput"),
    Bench("flow_peers", peers=("backtrader", "backtesting")),
    Bench("flow_latency"),
    Bench("console_speed"),
    Bench("portable_math"),
    Bench("api_load"),
    Bench("walk_forward", markdown=False, title="Walk-forward against single backtests"),
    Bench("backtest_peers", peers=("backtesting", "backtrader", "vectorbt")),
    Bench("orders_listing", markdown=False, title="Orders listing: a page of resting orders"),
    Bench("bracket_overhead"),
    Bench("scenario_risk", markdown=False, title="Shock-scenario rule: cost per decision"),
)


def uv_command() -> list[str] | None:
    """How to call uv here: $UV, `uv` on the PATH, or `python3 -m uv`."""
    if os.environ.get("UV"):
        return [os.environ["UV"]]
    found = shutil.which("uv")
    if found:
        return [found]
    for python in ("python3", sys.executable):
        probe = subprocess.run(
            [python, "-m", "uv", "--version"], capture_output=True, text=True, check=False
        )
        if probe.returncode == 0:
            return [python, "-m", "uv"]
    return None


def command(bench: Bench, uv: list[str] | None) -> list[str]:
    script = str(Path("benchmarks") / f"{bench.name}.py")
    if bench.peers and uv is not None:
        extra = [arg for peer in bench.peers for arg in ("--with", peer)]
        return [*uv, "run", "--frozen", *extra, "python", script]
    return [sys.executable, script]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    names = [bench.name for bench in BENCHES]
    parser.add_argument("--only", nargs="+", choices=names, help="run just these")
    parser.add_argument("--skip", nargs="+", choices=names, default=[], help="leave these out")
    parser.add_argument("--no-peers", action="store_true", help="do not install peers with uv")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args()
    chosen = [
        bench
        for bench in BENCHES
        if (args.only is None or bench.name in args.only) and bench.name not in args.skip
    ]
    uv = None if args.no_peers else uv_command()
    env = {**os.environ, "UV_PYTHON_DOWNLOADS": "never"}
    failed = []
    if args.dry_run:
        for bench in chosen:
            print(" ".join(command(bench, uv)))
        return 0
    print("# Benchmark results\n", flush=True)
    for bench in chosen:
        cmd = command(bench, uv)
        print(f"<!-- {' '.join(cmd)} -->", file=sys.stderr, flush=True)
        started = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
        seconds = time.perf_counter() - started
        if not bench.markdown:
            shown = " ".join("python" if part == sys.executable else part for part in cmd)
            print(f"## {bench.title}\n\nCommand (from the repository root): `{shown}`\n")
            print("```text")
            print(done.stdout.rstrip())
            print("```\n")
        else:
            print(done.stdout.rstrip() + "\n")
        if done.returncode != 0:
            failed.append(bench.name)
            print(f"**{bench.name} failed (exit code {done.returncode}):**\n")
            print("```text\n" + done.stderr[-4000:].rstrip() + "\n```\n")
        print(f"<!-- {bench.name}: {seconds:.0f} s -->\n", flush=True)
    if failed:
        print(f"Failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
