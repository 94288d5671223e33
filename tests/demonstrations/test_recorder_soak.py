"""The recorder soak benchmark (bench/recorder_soak.py) runs for a few seconds with its SIGKILL and
restart, so that its machinery cannot rot: real server processes, real HTTP, the same checks."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

BENCH = Path(__file__).parents[2] / "bench" / "recorder_soak.py"


def test_a_short_soak_loses_nothing_and_every_episode_replays(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("recorder_soak", BENCH)
    assert spec is not None and spec.loader is not None
    soak = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = soak  # its dataclasses look their module up there
    spec.loader.exec_module(soak)
    report = soak.run_soak(6, annotators=2, workdir=tmp_path)
    assert report["problems"] == [] and report["verified"], report
    assert report["steps_acknowledged"] > 0 and report["episodes"] >= 2
    assert report["steps_lost"] == report["steps_duplicated"] == report["steps_unacknowledged_in_store"] == 0
    assert report["episodes_replayed"] == report["episodes"]
    assert report["unfinished_episodes_resumed"] == report["unfinished_episodes"]
    assert report["step_latency_ms"]["p50"] is not None
