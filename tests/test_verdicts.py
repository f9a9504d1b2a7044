"""The book's generated conclusions: each verdict crosses its thresholds the right way."""

from types import SimpleNamespace

import numpy as np
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
    "shift, sd, en",
    [
        (0.10, 0.01, "stands out from seed noise"),  # far beyond
        (-0.10, 0.01, "stands out from seed noise"),
        (0.005, 0.01, "cannot be told from seed noise"),  # within noise
        (0.0, 0.01, "cannot be told from seed noise"),
    ],
)
def test_beyond_noise_decides_on_the_welch_interval(shift, sd, en):
    rng = np.random.default_rng(0)
    a, b = 2 + shift + rng.normal(0, sd, 5), 2 + rng.normal(0, sd, 5)
    zh, text = beyond_noise(a, b)
    assert en in text and "95% CI" in text and "置信区间" in zh
    if "cannot" in en:  # "not shown" states what the seeds could have shown
        assert "smallest difference these seeds detect" in text and "最小差异" in zh
    assert "seed sd" not in text  # no multiple-of-sd rule


def test_beyond_noise_needs_two_seeds_a_side():
    assert "at least two seeds" in beyond_noise([2.0], [2.1, 2.2])[1]


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
    rest = [s for s in SWITCHES if s not in order]
    eff = pd.DataFrame({"term": [*order, *rest], "order": 1, "estimate": est + [0.0] * len(rest)})
    eff["ci_low"], eff["ci_high"] = eff["estimate"] - 0.006, eff["estimate"] + 0.006
    zh, en = V.top_switches(_uni(order), direction, stab, eff)
    assert f"{overlap} of Note 1's top three remain" in en and f"有 {overlap} 个" in zh
    assert en.endswith("supported.") is supports
    assert ("lowers" in en or "raises" in en) and "_weights" not in en


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
    assert en.endswith("supported.") is (max(ranks) <= 1)


@pytest.mark.parametrize(
    "low, high, margin, rlow, rhigh, mean, spread",
    [
        (0.03, 0.05, 0.02, 1.5, 3.0, "changes", "changes"),
        (-0.01, 0.01, 0.02, 0.9, 1.1, "unchanged", "unchanged"),
        (-0.01, 0.03, 0.02, 0.7, 1.4, "undetermined", "undetermined"),
        (-0.05, -0.03, 0.02, 0.2, 0.5, "changes", "changes"),
        (-0.019, 0.019, 0.02, 0.81, 1.24, "unchanged", "unchanged"),  # just inside both bands
        (-0.021, 0.019, 0.02, 0.79, 1.24, "undetermined", "undetermined"),  # just outside
    ],
)
def test_classify_reads_intervals_not_p_values(low, high, margin, rlow, rhigh, mean, spread):
    c = V.classify(low, high, margin, rlow, rhigh)
    assert c["mean"][1] == mean and c["spread"][1] == spread


def _tost(low90, high90, margin=0.02):
    return {
        "low90": low90,
        "high90": high90,
        "p_value": 0.01,
        "equivalent": -margin < low90 and high90 < margin,
    }


@pytest.mark.parametrize(
    "tost, rlow, rhigh, want",
    [
        (_tost(-0.01, 0.01), 1.5, 3.0, "supported"),  # mean within ±0.02, spread wider
        (_tost(-0.01, 0.01), 0.8, 1.6, "undetermined"),  # spread not shown wider
        (_tost(-0.01, 0.03), 1.5, 3.0, "undetermined"),  # mean neither inside nor outside
        (_tost(0.03, 0.05), 1.5, 3.0, "contradicted"),  # the mean moves beyond the margin
        (_tost(-0.01, 0.01), 0.3, 0.8, "contradicted"),  # significantly narrower
    ],
)
def test_variance_claim_needs_an_equivalent_mean_and_a_wider_spread(tost, rlow, rhigh, want):
    assert V.variance_outcome(tost, rlow, rhigh, 0.02) == want
    row = SimpleNamespace(sd_ratio=2.0, ratio_low=rlow, ratio_high=rhigh, p_adjusted=0.01)
    zh, en = V.variance_claim(row, 0.0, tost, 0.02)
    assert en.endswith(f"widens its spread: {want}.") and V.words(want)[0] in zh
    assert "nats/byte" in en and "奈特/字节" in zh and "nats" not in zh


def test_effects_summary_counts():
    eff = pd.DataFrame(
        {
            "p_adjusted": [0.001, 0.01, 0.2, 0.04],
            "beyond_noise": [True, False, False, True],
            "below_noise": [False, False, True, False],
            "order": [1, 2, 1, 3],
        }
    )
    zh, en = V.effects_summary(eff, 0.87)
    assert en.startswith("3 terms") and "(2 of them interactions); for 2 of those" in en
    assert "1 terms have a 90% interval inside" in en and "0.87" in en and "有 3 个项" in zh


def test_mirror_wording():
    assert "show the mirror" in V.mirror(True, 0.25)[1] and "25%" in V.mirror(True, 0.25)[1]
    assert "do not show" in V.mirror(False, 0.0)[1]
