"""The benchmark scripts still run against the current code, and print what BENCHMARKS.md quotes.

Their figures are not checked against targets here (the machines are shared and noisy); what is
checked is that each script's printed report has its named lines, units and set-up, and that the
figures it prints agree with each other (a ratio is the ratio of the numbers it is printed from).
"""

import logging
import re
from pathlib import Path

import pytest
import torch

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture(autouse=True)
def _benchmarks_importable(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))  # the scripts import their `common` module
    threads = torch.get_num_threads()
    loggers = {name: logging.getLogger(name) for name in ("lightning", "lightning.pytorch", "paint_lightning")}
    levels = {name: logger.level for name, logger in loggers.items()}
    yield
    torch.set_num_threads(threads)  # the scripts pin one thread and quieten logs for the whole process
    for name, logger in loggers.items():
        logger.setLevel(levels[name])


LINE = re.compile(r"^(?P<name>\w+) (?P<measured>\d+\.\d+)x (?P<op><=|>=) (?P<target>[\d.]+)x (?P<status>OK|MISS)$")
NUMBER = r"(\d+(?:\.\d+)?)"


def _parse(report: str, name: str, target: float) -> tuple[dict[str, str], float]:
    """The report's detail lines (key -> value) and the measured figure of its final line."""
    lines = report.splitlines()
    assert lines[0] == f"[{name}]", report
    details = dict(line.strip().split(": ", 1) for line in lines[1:-1])
    final = LINE.match(lines[-1])
    assert final is not None, lines[-1]
    assert final["name"] == name and final["op"] == "<=" and float(final["target"]) == target, lines[-1]
    measured = float(final["measured"])
    assert final["status"] == ("OK" if measured <= target else "MISS"), lines[-1]
    return details, measured


def _figure(pattern: str, text: str) -> tuple[float, ...]:
    match = re.fullmatch(pattern, text)
    assert match is not None, f"{text!r} does not read as {pattern!r}"
    return tuple(float(group) for group in match.groups())


def test_result_lines_read_as_benchmarks_md_quotes_them() -> None:
    from common import Result

    assert Result("a", 1.234, "<=", 1.5).line() == "a 1.23x <= 1.5x OK"
    assert Result("a", 12.34, "<=", 2.0).line() == "a 12.3x <= 2x MISS"
    assert Result("a", 0.5, ">=", 0.75, unit="%").line() == "a 0.50% >= 0.75% MISS"
    assert Result("a", None, "<=", 1.15, skip_reason="no GPU").line() == "a n/a <= 1.15x SKIP (no GPU)"
    assert (
        Result("a", 1.0, "<=", 1.15, misses=["b 9 < 10 images/s"]).line() == "a 1.00x <= 1.15x MISS (b 9 < 10 images/s)"
    )
    report = Result("a", 1.0, "<=", 1.5, details={"setup": "x"}).report()
    assert report.splitlines() == ["[a]", "  setup: x", "a 1.00x <= 1.5x OK"]


def test_gpu_sweep_smoke_reports_rates_their_ratio_and_the_bytes_moved():
    import gpu_sweep

    result = gpu_sweep.run(smoke=True)
    lines = result.report().splitlines()
    assert lines[0] == "[gpu_sweep]" and result.status == "SKIP", lines
    assert re.fullmatch(
        r"gpu_sweep n/a <= 1\.15x SKIP \(smoke test on the CPU, [\d.]+x is not a GPU figure\)", lines[-1]
    )
    details = dict(line.strip().split(": ", 1) for line in lines[1:-1])
    assert list(details) == ["device", "tiny tower", "PCIe bytes per image"]
    sweep, forward, ratio, images, size, batch, sweep_s, forward_s = _figure(
        rf"sweep {NUMBER} images/s, forward {NUMBER} images/s, ratio {NUMBER} \({NUMBER} held-out images at {NUMBER} "
        rf"px x 11 alphas, batch {NUMBER}; median s: sweep {NUMBER}, forward {NUMBER}\)",
        details["tiny tower"],
    )
    assert images == 2 * gpu_sweep.SMOKE["tiny tower"][0] and size == 32 and batch == 8
    # Seconds are printed to the millisecond, rates to the image.
    assert sweep == pytest.approx(images * 11 / sweep_s, rel=6e-4 / sweep_s + 1e-3, abs=1)
    assert forward == pytest.approx(images * 11 / forward_s, rel=6e-4 / forward_s + 1e-3, abs=1)
    assert ratio == pytest.approx(forward / sweep, rel=1e-2)  # forward rate / sweep rate (one repetition)
    uint8, floats, fewer = _figure(
        rf"{NUMBER} as uint8 \(cache pinned: False\) vs {NUMBER} as float32 \({NUMBER}x fewer\)",
        details["PCIe bytes per image"],
    )
    assert uint8 == 3 * 32 * 32 and floats == 4 * uint8 and fewer == 4


@pytest.mark.slow
def test_sweep_vs_limit_reports_its_timings_and_their_ratio():
    import sweep_vs_limit

    result = sweep_vs_limit.run(reps=1)
    details, measured = _parse(result.report(), "sweep_vs_limit", sweep_vs_limit.TARGET)
    assert list(details) == [
        "setup",
        "ours, later sweep (median s)",
        "limit, 11 forward passes (median s)",
        "ours / limit",
        "sweep throughput",
    ]
    (images, _size, _params) = _figure(
        rf"{NUMBER} held-out images at {NUMBER} px in memory, tower {NUMBER}M params, 11 alphas, batch 128",
        details["setup"],
    )
    assert images == 2 * sweep_vs_limit.HELDOUT_PER_TASK
    ours, ours_rep = _figure(rf"{NUMBER}  \[{NUMBER}\]", details["ours, later sweep (median s)"])
    limit, limit_rep = _figure(rf"{NUMBER}  \[{NUMBER}\]", details["limit, 11 forward passes (median s)"])
    assert ours == pytest.approx(ours_rep, abs=1e-3) and limit == pytest.approx(limit_rep, abs=1e-3)  # one rep
    assert ours > 0 and limit > 0
    ratio, of_medians = _figure(
        rf"{NUMBER} \(median of per-repetition ratios; ratio of medians {NUMBER}\)", details["ours / limit"]
    )
    assert ratio == pytest.approx(ours / limit, rel=5e-3, abs=2e-3) and of_medians == pytest.approx(ratio, abs=1e-3)
    assert measured == pytest.approx(ratio, abs=6e-3)  # the final line is the ratio, to 2 decimals
    (throughput,) = _figure(rf"{NUMBER} image-alphas/s", details["sweep throughput"])
    assert throughput == pytest.approx(images * 11 / ours, rel=1e-2, abs=1)


@pytest.mark.slow
def test_sweep_memory_reports_copies_of_the_tower():
    import sweep_memory

    result = sweep_memory.run()
    details, measured = _parse(result.report(), "sweep_memory", sweep_memory.TARGET)
    assert list(details) == ["setup", "peak extra RSS during the sweep", "copies of the tower"]
    params, tower_mib, per_task = _figure(
        rf"tower {NUMBER}M params = {NUMBER} MiB, 2 x {NUMBER} held-out images at 32 px, 11 alphas", details["setup"]
    )
    assert per_task == sweep_memory.HELDOUT_PER_TASK
    assert tower_mib == pytest.approx(params * 1e6 * 4 / 2**20, rel=0.01)  # float32 weights
    (extra_mib,) = _figure(rf"{NUMBER} MiB", details["peak extra RSS during the sweep"])
    (copies,) = _figure(NUMBER, details["copies of the tower"])
    assert extra_mib > 0 and copies == pytest.approx(extra_mib / tower_mib, abs=0.02)
    assert measured == pytest.approx(copies, abs=6e-3)


@pytest.mark.slow
def test_merge_memory_reports_flat_and_streamed_per_method():
    import merge_memory
    import open_clip

    result = merge_memory.run("ViT-S-32", 2, ("ties",))
    details, measured = _parse(result.report(), "merge_memory", merge_memory.TARGET)
    assert list(details) == ["set-up", "ties"]
    (gib,) = _figure(rf"ViT-S-32 image tower, 2 task vectors = {NUMBER} GiB", details["set-up"])
    tower = open_clip.create_model("ViT-S-32", pretrained=None).visual
    floats = sum(t.numel() for t in tower.state_dict().values() if t.is_floating_point())
    assert gib == pytest.approx(2 * 4 * floats / 2**30, abs=0.006)
    flat, flat_s, streamed, streamed_s = _figure(
        rf"flat {NUMBER}x \({NUMBER} s\), streamed {NUMBER}x \({NUMBER} s\)", details["ties"]
    )
    assert measured == pytest.approx(streamed, abs=6e-3)  # the final line: the largest streamed ratio
    # The point of streaming: TIES no longer builds every task vector and their flat concatenation.
    assert 0 < streamed < flat
    assert flat_s >= 0 and streamed_s >= 0


@pytest.mark.slow
def test_startup_reports_the_cost_per_file_of_both_sources_and_the_projection():
    import startup

    lines = startup.run(400).report().splitlines()
    assert lines[0] == "[startup]"
    details = dict(line.strip().split(": ", 1) for line in lines[1:-1])
    assert list(details) == ["set-up", "folder", "csv"]
    assert details["set-up"] == "100 and 400 tiny PNG files (train + test), folder and CSV sources"
    per_file = []
    for kind in ("folder", "csv"):
        figures = _figure(
            rf"{NUMBER} s for 400 files = {NUMBER} us/file \(construct {NUMBER}, setup {NUMBER}, provenance {NUMBER}, "
            rf"first_batch {NUMBER} s\); {NUMBER} s for 100 = {NUMBER} us/file; growth {NUMBER}x per file; "
            rf"peak \+{NUMBER} MiB = {NUMBER} B/file; 1.28M files: {NUMBER} s, {NUMBER} GiB",
            details[kind],
        )
        total, us, *stages, small, small_us, growth, mib, per_b, projected_s, projected_gib = figures
        # Seconds are printed to the millisecond, microseconds per file to a tenth.
        assert us == pytest.approx(total * 1e6 / 400, abs=0.0005e6 / 400 + 0.05)
        assert small_us == pytest.approx(small * 1e6 / 100, abs=0.0005e6 / 100 + 0.05)
        assert sum(stages) == pytest.approx(total, abs=0.003) and growth == pytest.approx(us / small_us, abs=0.02)
        assert projected_s == pytest.approx(us * startup.IMAGENET / 1e6, rel=0.01, abs=1)
        assert per_b == pytest.approx(mib * 2**20 / 400, abs=0.05 * 2**20 / 400 + 1) and projected_gib >= 0
        per_file.append(us)
    final = re.fullmatch(r"startup (\d+(?:\.\d+)?)us <= 40\.0us (OK|MISS)", lines[-1])
    assert final is not None, lines[-1]
    assert float(final[1]) == pytest.approx(max(per_file), abs=0.06)
    assert final[2] == ("OK" if float(final[1]) <= startup.TARGET else "MISS")


AGREE = ["alpha*", "same table", "same patched.safetensors", "sha256"]


@pytest.mark.slow
def test_live_sweep_reports_both_runs_their_ratio_and_that_they_agree():
    import live_sweep

    result = live_sweep.run(*live_sweep.SMOKE)  # tests/conf/tiny.yaml for 3 epochs, twice
    details, measured = _parse(result.report(), "live_sweep", live_sweep.TARGET)
    assert list(details) == ["setup", "live", "last_only", "cpu", *AGREE]
    live, partial, full = _figure(rf"{NUMBER} s, sweeps \d+ \({NUMBER} partial \+ {NUMBER} full\)", details["live"])
    last, epochs = _figure(
        rf"{NUMBER} s \(--sweep.every_n_epochs {NUMBER}\), sweeps 1 \(0 partial \+ 1 full\)", details["last_only"]
    )
    assert epochs == 3 and full == 1 and partial >= 1  # the first live sweep always runs
    # The ratio (printed to 2 decimals) lies in the range the seconds (printed to 0.1 s) allow.
    assert (live - 0.05) / (last + 0.05) - 0.005 <= measured <= (live + 0.05) / (last - 0.05) + 0.005
    assert details["same table"] == details["same patched.safetensors"] == "yes"
    live_cpu, last_cpu, ratio = _figure(rf"{NUMBER} s live, {NUMBER} s last-only, ratio {NUMBER}", details["cpu"])
    assert ratio == pytest.approx(live_cpu / last_cpu, rel=0.01, abs=0.01) and live_cpu > 0 and last_cpu > 0
    assert re.fullmatch(r"[0-9a-f]{64}", details["sha256"])
