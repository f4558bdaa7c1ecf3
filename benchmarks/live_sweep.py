"""live_sweep: ``paint fit`` with its live sweeps vs the same run with only the last sweep.

Set-up: ``paint fit --config configs/quickstart.yaml`` as a user runs it (a child process each,
default threads), once with the default sweep schedule (live sweeps every epoch at most, partial,
within ``sweep.max_fraction`` of the training time) and once with ``--sweep.every_n_epochs
<max_epochs>`` (the last sweep only), one after the other (the order alternates with ``--reps``).

Measure: each run's wall time, from starting the process to its exit; the final line is the
ratio live / last-only (target <= 1.5). Printed beside it: their CPU time (user + system) and its
ratio (on a machine shared with other jobs, wall time follows the others' load, CPU time much
less), the sweeps each run made (partial and full), whether the two test tables are the same, and
the SHA-256 of both ``patched.safetensors`` (the same file; for the quickstart the published
e9af2d2d...).

Usage: ``python benchmarks/live_sweep.py [--config configs/quickstart.yaml] [--reps 1]`` (about
10 minutes on 2 cores for the quickstart; ``--smoke``: tests/conf/tiny.yaml, under a minute).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml
from common import Result

TARGET = 1.5
ROOT = Path(__file__).resolve().parents[1]
SMOKE = ("tests/conf/tiny.yaml", 1, ("--trainer.max_epochs", "3"), 3)  # config, reps, extra, epochs
QUICKSTART_SHA = "e9af2d2dca3169413e578468a8edebecb63f5ca136ff70813507e2704470263c"


def fit(config: Path, root: Path, extra: list[str]) -> tuple[float, float, str, dict]:
    """Runs ``paint fit``; returns its wall and CPU seconds, its printed test table and its report."""
    command = [sys.executable, "-m", "paint_lightning", "fit", "--config", str(config)]
    command += [*extra, f"--trainer.default_root_dir={root}"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    began, cpu = time.perf_counter(), _children_cpu()
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    seconds, cpu = time.perf_counter() - began, _children_cpu() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    report = json.loads((root / "lightning_logs/version_0/paint_report.json").read_text())
    return seconds, cpu, table(done.stdout + done.stderr), report


def _children_cpu() -> float:
    """User + system CPU seconds of this process's finished children (steadier than wall time on a shared machine)."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def table(output: str) -> str:
    """The printed ``PAINT result on the test splits`` table (its lines, up to the last ``mean`` row)."""
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if line.startswith("PAINT result on the test splits")), None)
    if start is None:
        return ""
    end = start + 1
    while end < len(lines) and lines[end].strip() and not lines[end].startswith(("Patched model", "[")):
        end += 1
    return "\n".join(line.rstrip() for line in lines[start:end])


def sha256(path: Path) -> str:
    """SHA-256 of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def sweeps(report: dict) -> str:
    """``"5 (4 partial + 1 full)"``: the sweeps of a run, from its report's history."""
    partial = sum(bool(entry.get("partial")) for entry in report["history"])
    return f"{len(report['history'])} ({partial} partial + {len(report['history']) - partial} full)"


def run(
    config: str = "configs/quickstart.yaml", reps: int = 1, extra: tuple[str, ...] = (), epochs: int | None = None
) -> Result:
    """Times the two runs ``reps`` times each (alternating which goes first); ratio of the medians.

    ``epochs``: the run's ``max_epochs`` when ``extra`` changes it (default: the config's).
    """
    path = (ROOT / config).resolve()
    epochs = epochs or int(yaml.safe_load(path.read_text())["trainer"]["max_epochs"])
    cases = {"live": [*extra], "last_only": [*extra, "--sweep.every_n_epochs", str(epochs)]}
    times: dict[str, list[float]] = {name: [] for name in cases}
    cpu: dict[str, list[float]] = {name: [] for name in cases}
    seen: dict[str, tuple[str, dict, str]] = {}
    with tempfile.TemporaryDirectory(prefix="live_sweep_") as tmp:
        for rep in range(reps):
            for name in cases if rep % 2 == 0 else reversed(list(cases)):
                root = Path(tmp) / f"{name}{rep}"
                seconds, cpu_seconds, printed, report = fit(path, root, cases[name])
                times[name].append(seconds)
                cpu[name].append(cpu_seconds)
                seen[name] = (printed, report, sha256(root / "lightning_logs/version_0/patched.safetensors"))
                timing = f"{seconds:.1f} s ({cpu_seconds:.1f} s CPU)"
                print(f"  live_sweep: rep {rep + 1}/{reps} {name}: {timing}, {sweeps(report)}", flush=True)
    live, last = statistics.median(times["live"]), statistics.median(times["last_only"])
    (live_table, live_report, live_sha), (last_table, last_report, last_sha) = seen["live"], seen["last_only"]
    same_table = bool(live_table) and live_table == last_table
    live_cpu, last_cpu = statistics.median(cpu["live"]), statistics.median(cpu["last_only"])
    details = {
        "setup": f"paint fit --config {config} {' '.join(extra)}".rstrip() + f", {os.cpu_count()} CPUs, {reps} rep(s)",
        "live": f"{live:.1f} s, sweeps {sweeps(live_report)}",
        "last_only": f"{last:.1f} s (--sweep.every_n_epochs {epochs}), sweeps {sweeps(last_report)}",
        "cpu": f"{live_cpu:.1f} s live, {last_cpu:.1f} s last-only, ratio {live_cpu / last_cpu:.2f}",
        "alpha*": f"{live_report['selected_alpha']:g} live, {last_report['selected_alpha']:g} last-only",
        "same table": "yes" if same_table else "NO",
        "same patched.safetensors": "yes" if live_sha == last_sha else "NO",
        "sha256": live_sha + (" (the published quickstart file)" if live_sha == QUICKSTART_SHA else ""),
    }
    if not same_table or live_sha != last_sha:
        return Result("live_sweep", None, "<=", TARGET, skip_reason="failed: the runs differ", details=details)
    return Result("live_sweep", live / last, "<=", TARGET, details=details)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/quickstart.yaml")
    parser.add_argument("--reps", type=int, default=1)
    parser.add_argument("--smoke", action="store_true", help="tests/conf/tiny.yaml, 3 epochs (under a minute)")
    cli = parser.parse_args()
    result = run(*SMOKE[:1], cli.reps, *SMOKE[2:]) if cli.smoke else run(cli.config, cli.reps)
    print(result.report())
    sys.exit(0 if result.status == "OK" else 1)
