"""The benches' memory helpers: a process's resident memory and its start/end trend."""

from __future__ import annotations

import os

from bench.memory import rss_mb, trend


def test_trend_takes_the_start_a_tenth_of_the_way_in_and_the_end_last():
    samples = [(0.0, 50.0), (5.0, 200.0), (10.0, 210.0), (50.0, 215.0), (100.0, 212.0)]
    assert trend(samples) == {"start_mb": 210.0, "end_mb": 212.0, "peak_mb": 215.0, "growth_mb": 2.0,
                              "samples": 5, "seconds": 100.0}
    assert trend([]) == {}


def test_rss_of_this_process_and_of_none():
    assert rss_mb(os.getpid()) > 1.0
    assert rss_mb(2**22 + 12345) is None
