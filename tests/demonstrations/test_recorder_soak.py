"""The recorder soak benchmark (bench/recorder_soak.py) runs for a few seconds with its SIGKILL and
restart, so that its machinery cannot rot: real server processes, real HTTP, the same checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from bench_modules import load_bench

pytestmark = pytest.mark.slow


def test_a_short_soak_loses_nothing_and_every_episode_replays(tmp_path: Path) -> None:
    soak = load_bench("recorder_soak")
    report = soak.run_soak(6, annotators=2, workdir=tmp_path)
    assert report["problems"] == [] and report["verified"], report
    assert report["steps_acknowledged"] > 0 and report["episodes"] >= 2
    assert report["steps_lost"] == report["steps_duplicated"] == report["steps_unacknowledged_in_store"] == 0
    assert report["episodes_replayed"] == report["episodes"]
    assert report["unfinished_episodes_resumed"] == report["unfinished_episodes"]
    assert report["step_latency_ms"]["p50"] is not None
