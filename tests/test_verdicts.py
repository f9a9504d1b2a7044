"""The book's generated conclusions: each verdict crosses its thresholds the right way."""

from types import SimpleNamespace

import pandas as pd
import pytest

from ptlab.analysis import verdicts as V
from ptlab.book.glue import beyond_noise
from ptlab.models import SWITCHES


@pytest.mark.parametrize(
    "r2, zh, en",
    [
        (0.71, "可以参考", "worth reading"),
        (0.69, "需谨慎", "with care"),
        (0.31, "需谨慎", "with care"),
        (0.29, "不可信", "should not be trusted"),
    ],
)
def test_surrogate_fit_thresholds(r2, zh, en):
    z, e = V.surrogate_fit(r2)
    assert zh in z and en in e and f"{r2:.2f}" in e


@pytest.mark.parametrize(
    "gap, sd, en",
    [
        (0.31, 0.1, "well beyond"),
        (0.29, 0.1, "less than 3 sd"),
        (0.09, 0.1, "within"),
        (-0.5, 0.1, "well beyond"),
        (0.1, 0.0, "well beyond"),
    ],
)
def test_beyond_noise_thresholds(gap, sd, en):
    assert en in beyond_noise(gap, sd)[1]


def _uni(order):
    return pd.DataFrame({"switch": order})


@pytest.mark.parametrize(
    "order, overlap, supports",
    [
        (["untie_attn_weights", "use_std_residual", "use_rms_norm"], 3, True),
        (["use_rms_norm", "untie_attn_weights", "use_gated_ffn"], 2, False),
        (["use_gated_ffn", "no_vo_rope", "untie_ffn_weights"], 0, False),
    ],
)
def test_top_switches_overlap_and_claim(order, overlap, supports):
    direction = {s: (-1.0 if i % 2 else 1.0) for i, s in enumerate(SWITCHES)}
    stab = pd.DataFrame(
        {"switch": order, "keep_rank": 0.99, "rank_lo": [1, 2, 3], "rank_hi": [1, 2, 3]}
    )
    est = [0.1, 0.05, 0.04]  # the first leads by 0.05 at se 0.003: clearly the strongest
    eff = pd.DataFrame({"term": order, "order": 1, "estimate": est})
    eff["ci_low"], eff["ci_high"] = eff["estimate"] - 0.006, eff["estimate"] + 0.006
    zh, en = V.top_switches(_uni(order), direction, stab, eff)
    assert f"{overlap} remain" in en and f"有 {overlap} 个" in zh
    assert ("this run supports" in en) is supports and ("does not support" in en) is not supports
    assert order[0] in en and ("lowers" in en or "raises" in en)


def _pairs(first_rank, second_rank):
    """45 pairs with the notes' pairs placed at the given ranks by interaction strength."""
    import itertools

    notes = [tuple(sorted(p)) for p in V.SEED_PAIRS]
    others = [p for p in itertools.combinations(sorted(SWITCHES), 2) if p not in notes]
    order = others[:]
    for rank, p in sorted([(first_rank, notes[0]), (second_rank, notes[1])]):
        order.insert(rank - 1, p)
    return pd.DataFrame(
        {
            "switch1": [a for a, _ in order],
            "switch2": [b for _, b in order],
            "interaction_strength": [100.0 - i for i in range(len(order))],
        }
    )


@pytest.mark.parametrize("ranks", [(1, 5), (2, 6), (45, 1)])
def test_seed_pairs_reports_the_shap_ranks(ranks):
    pairs = _pairs(*ranks)
    eff = pd.DataFrame(
        {
            "term": [f"{a}:{b}" for a, b in zip(pairs.switch1, pairs.switch2, strict=True)],
            "order": 2,
            "estimate": pairs.interaction_strength / 1000,
            "ci_low": pairs.interaction_strength / 1000 - 0.001,
            "ci_high": pairs.interaction_strength / 1000 + 0.001,
            "p_adjusted": 0.001,
        }
    )
    zh, en = V.seed_pairs(pairs, eff)
    assert f"rank {ranks[0]} and {ranks[1]} of 45" in en and f"第 {ranks[0]} 和第" in zh
    # exact effects 0.1 − rank/1000, se ≈ 0.0005: every pair below the first is clearly behind
    assert ("this run supports" in en) is (max(ranks) <= 1)


@pytest.mark.parametrize(
    "mean_sig, var_sig, want",
    [
        (True, True, "mean and spread"),
        (True, False, "mean only"),
        (False, True, "spread only"),
        (False, False, "neither"),
    ],
)
def test_classify_all_four_cells(mean_sig, var_sig, want):
    assert V.classify(mean_sig, var_sig)[1] == want


@pytest.mark.parametrize(
    "sd_on, p_adj, mean_sig, supports",
    [
        (0.2, 0.049, False, True),  # wider, tested, mean unchanged: the claim holds
        (0.2, 0.051, False, False),  # wider but not significant
        (0.2, 0.01, True, False),  # wider, but the mean moves too
        (0.05, 0.01, False, False),  # significantly *narrower*
    ],
)
def test_variance_claim_needs_a_wider_spread_and_no_mean_effect(sd_on, p_adj, mean_sig, supports):
    row = SimpleNamespace(sd_on=sd_on, sd_off=0.1, p_adjusted=p_adj)
    zh, en = V.variance_claim(row, 0.01, mean_sig)
    assert ("This run supports" in en) is supports and f"{sd_on / 0.1:.2f} times" in en
    assert ("本次运行支持" in zh) is supports


def test_effects_summary_counts():
    eff = pd.DataFrame(
        {
            "p_adjusted": [0.001, 0.01, 0.2, 0.04],
            "below_noise": [False, True, False, False],
            "order": [1, 2, 1, 3],
        }
    )
    zh, en = V.effects_summary(eff, 0.87)
    assert en.startswith("3 terms") and "(2 of them interactions); 2 of those" in en
    assert "0.87" in en and "有 3 个项" in zh


def test_mirror_wording():
    assert "show the mirror" in V.mirror(True, 0.25)[1] and "25%" in V.mirror(True, 0.25)[1]
    assert "do not show" in V.mirror(False, 0.0)[1]
