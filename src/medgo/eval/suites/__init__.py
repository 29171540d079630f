"""Benchmark suites: `cblue` (native leaderboard metrics) and `promptcblue` (PromptCBLUE's evaluator)."""
