"""The three verdict words, the detectable effect and the claims record."""

import json
from dataclasses import asdict

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ptlab.verdict import detectable_effect, outcome, seeds_needed, t_interval


@pytest.mark.parametrize(
    "low, high, sign, margin, want",
    [
        (0.01, 0.05, 1, 0.0, "supported"),
        (-0.05, -0.01, 1, 0.0, "contradicted"),
        (-0.01, 0.05, 1, 0.0, "undetermined"),
        (-0.05, -0.01, -1, 0.0, "supported"),
        (0.01, 0.05, -1, 0.0, "contradicted"),
        (-0.004, 0.003, -1, 0.01, "contradicted"),  # the claimed gain is ruled out at 0.01
        (-0.004, 0.013, -1, 0.01, "undetermined"),
        (-0.004, 0.003, 0, 0.01, "supported"),  # "hardly matters" within ±0.01
        (0.012, 0.05, 0, 0.01, "contradicted"),
        (-0.05, -0.011, 0, 0.01, "contradicted"),
        (-0.004, 0.02, 0, 0.01, "undetermined"),
        (float("nan"), 0.1, 1, 0.0, "undetermined"),
    ],
)
def test_outcome_crosses_every_threshold(low, high, sign, margin, want):
    assert outcome(low, high, sign, margin) == want


def test_outcome_rejects_a_bad_sign_or_margin():
    with pytest.raises(ValueError, match="sign must be"):
        outcome(0, 1, 2)
    with pytest.raises(ValueError, match="margin must be"):
        outcome(0, 1, 1, -0.1)


def test_detectable_effect_has_the_stated_power_in_a_simulation():
    rng = np.random.default_rng(0)
    n, sd = 8, 0.03
    mde = detectable_effect(sd / np.sqrt(n), n - 1)
    d = rng.normal(mde, sd, size=(20000, n))
    t = d.mean(1) / (d.std(1, ddof=1) / np.sqrt(n))
    power = np.mean(np.abs(t) > stats.t.ppf(0.975, n - 1))
    assert abs(power - 0.8) < 0.03  # the normal-theory rule is slightly conservative here


def test_detectable_effect_matches_statsmodels_noncentral_t():
    from statsmodels.stats.power import TTestPower

    for n in (4, 10, 30):
        exact = TTestPower().solve_power(nobs=n, alpha=0.05, power=0.8) * 1.0  # in sd units
        assert detectable_effect(1 / np.sqrt(n), n - 1) == pytest.approx(exact, rel=0.08)


def test_seeds_needed_is_the_smallest_that_reaches_the_target():
    n = seeds_needed(0.03, 0.02)
    assert detectable_effect(0.03 / np.sqrt(n), n - 1) <= 0.02
    assert detectable_effect(0.03 / np.sqrt(n - 1), n - 2) > 0.02


def test_t_interval_of_paired_differences():
    iv = t_interval([0.1, 0.2, 0.3])
    assert iv.estimate == pytest.approx(0.2)
    half = stats.t.ppf(0.975, 2) * 0.1 / np.sqrt(3)
    assert (iv.low, iv.high) == pytest.approx((0.2 - half, 0.2 + half))
    assert iv.outcome(1) == "undetermined"
    assert t_interval([0.1, 0.12, 0.14]).outcome(1) == "supported"
    assert np.isnan(t_interval([0.1]).low)


def test_claims_are_recorded_validated_and_loaded(tmp_path):
    from ptlab.book.claims import Claim, load_claims, record_claims

    c = dict(claim_zh="甲", claim_en="A", evidence_zh="e", evidence_en="e", section="ch-x")
    record_claims("ch", [Claim(3, "n3.a", outcome="supported", **c)], tmp_path, glue=False)
    record_claims("ch0", [Claim(1, "n1.a", outcome="undetermined", **c)], tmp_path, glue=False)
    df = load_claims(["ch", "ch0", "missing"], tmp_path)
    assert list(df["key"]) == ["n1.a", "n3.a"] and list(df["chapter"]) == ["ch0", "ch"]
    assert json.loads((tmp_path / "claims" / "ch.json").read_text())["chapter"] == "ch"
    with pytest.raises(ValueError, match="outcome must be one of"):
        Claim(3, "n3.b", outcome="not supported", **c)
    with pytest.raises(ValueError, match="duplicate claim keys n3.a"):
        record_claims("ch", [Claim(3, "n3.a", outcome="supported", **c)] * 2, tmp_path, glue=False)


def test_the_ledger_counts_outcomes_and_links_each_claim_to_its_section():
    from ptlab.book.claims import Claim, ledger_markdown, summary

    c = dict(claim_zh="甲|乙", claim_en="A|B", evidence_zh="e", evidence_en="e", section="res-v2")
    claims = [
        Claim(3, "n3.a", outcome="supported", **c),
        Claim(3, "n3.b", outcome="undetermined", **c),
        Claim(3, "n3.c", outcome="undetermined", **c),
    ]
    assert summary(claims, "en") == "1 supported · 2 undetermined"
    assert summary(claims, "zh") == "支持 1 · 无法判定 2"
    assert "不检验" in summary([], "zh")

    md = ledger_markdown(pd.DataFrame([asdict(x) for x in claims]), "zh")
    lines = md.replace("\u2060", "").splitlines()  # word joiners keep short labels whole
    assert "笔\u2060记\u2060三" in md and "无\u2060法\u2060判\u2060定" in md
    assert len(lines) == 2 + 3 and "笔记三" in lines[2] and "{ref}`§ <res-v2-zh>`" in lines[2]
    assert "甲\\|乙" in lines[2]  # a | inside a cell is escaped
