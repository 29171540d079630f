"""Pairwise summaries and bootstrap CIs on hand-made outcomes with known answers."""

from __future__ import annotations

import pytest

from medgo.eval.judge import bootstrap_ci, summarise_pairwise


def test_known_counts_and_rates() -> None:
    s = summarise_pairwise(["win"] * 6 + ["tie"] * 2 + ["loss"] * 2 + [None])
    assert (s["n"], s["unjudged"], s["win"], s["tie"], s["loss"]) == (10, 1, 6, 2, 2)
    assert s["win_rate"] == pytest.approx(0.7) and s["net"] == pytest.approx(0.4)


def test_degenerate_outcomes_have_zero_width_ci() -> None:
    s = summarise_pairwise(["win"] * 15)
    assert s["win_rate"] == 1.0 and s["win_rate_ci95"] == [1.0, 1.0] and s["net_ci95"] == [1.0, 1.0]
    assert summarise_pairwise(["tie"] * 5)["win_rate_ci95"] == [0.5, 0.5]
    assert summarise_pairwise([None, None]) == {"n": 0, "unjudged": 2, "win": 0, "tie": 0, "loss": 0}


def test_ci_matches_normal_approximation_and_is_seeded() -> None:
    out = ["win"] * 30 + ["loss"] * 10
    s = summarise_pairwise(out, n_boot=4000, seed=1)
    # p = .75, n = 40: se = sqrt(p(1-p)/n) = .0685 -> about [.616, .884]
    lo, hi = s["win_rate_ci95"]
    assert lo == pytest.approx(0.616, abs=0.03) and hi == pytest.approx(0.884, abs=0.03)
    assert lo < s["win_rate"] < hi
    assert summarise_pairwise(out, n_boot=4000, seed=1)["win_rate_ci95"] == [lo, hi]  # reproducible
    assert summarise_pairwise(out, n_boot=4000, seed=2)["win_rate_ci95"] != [lo, hi]


def test_ci_narrows_with_more_questions_and_excludes_half_for_clear_wins() -> None:
    small = bootstrap_ci([1.0] * 6 + [0.0] * 4, seed=0)
    large = bootstrap_ci([1.0] * 600 + [0.0] * 400, seed=0)
    assert (large[1] - large[0]) < (small[1] - small[0]) / 5
    assert small[0] < 0.5 < small[1]  # 6 of 10 is no evidence
    assert large[0] > 0.5  # 600 of 1000 is
    assert bootstrap_ci([]) != bootstrap_ci([])  # NaN: nothing to estimate
