"""The switch analysis recovers planted effects and reports nothing on pure noise."""

from __future__ import annotations

import itertools
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from ptlab.analysis import interactions as inter
from ptlab.analysis.divergence import COLUMNS as DIVERGENCE_COLUMNS
from ptlab.analysis.effects import exact_effects, pure_error, resolvable_order, significant
from ptlab.analysis.pipeline import OUTPUTS, analyze
from ptlab.analysis.table import AnalysisInputError, prepare, read_table
from ptlab.analysis.variance import location_scale
from ptlab.models import SWITCHES

A, B, C, D, E, F, G, H, I, J = SWITCHES
MAINS = {A: 0.30, B: 0.20, C: 0.12, D: 0.09}  # ±1-coded coefficients, ranked


def full_table(seed: int = 0, planted: bool = True) -> pd.DataFrame:
    """The 1024-run full design with planted mains, an E×F pair, a G×H×I triple and a switch J
    that only widens the noise (sd 0.01 off, 0.05 on)."""
    X = pd.DataFrame(list(itertools.product([0, 1], repeat=10)), columns=list(SWITCHES))
    pm = 2 * X - 1
    rng = np.random.default_rng(seed)
    y = np.full(len(X), 2.0)
    sd = np.full(len(X), 0.02)
    if planted:
        for s, b in MAINS.items():
            y += b * pm[s]
        y += 0.10 * pm[E] * pm[F] + 0.08 * pm[G] * pm[H] * pm[I]
        sd = np.where(X[J] == 1, 0.05, 0.01)
    X["eval/loss"] = y + rng.normal(0, 1, len(X)) * sd
    X["status"] = "ok"
    return X


@pytest.fixture(scope="module")
def planted():
    return analyze(prepare(full_table()), n_rows=100)


def test_recovers_main_effect_ranking(planted):
    assert list(planted.univariate["switch"][:4]) == list(MAINS)
    assert planted.r2_oof > 0.9


def test_recovers_strongest_pair_and_triple(planted):
    top = planted.pairs.sort_values("interaction_strength", ascending=False).iloc[0]
    assert {top.switch1, top.switch2} == {E, F}
    t0 = planted.triples.iloc[0]
    assert {t0.switch1, t0.switch2, t0.switch3} == {G, H, I}
    # the planted triple stands far above the next one
    assert t0.model_interaction_strength > 3 * planted.triples.iloc[1].model_interaction_strength


def test_recovers_variance_only_switch(planted):
    sig = planted.variance[planted.variance["p_adjusted"] < 0.05]["switch"].tolist()
    assert sig == [J]
    ls = location_scale(planted.table).set_index("switch")
    assert ls.loc[J, "p_adjusted"] < 0.05 and 2.5 < ls.loc[J, "sd_ratio"] < 6  # planted: 5
    assert (ls.drop(index=J)["p_adjusted"] > 0.05).all()


def test_exact_effects_find_exactly_the_planted_terms(planted):
    eff = planted.effects
    assert eff.attrs["model_order"] == 3  # the full design resolves three-way terms
    found = set(significant(eff)["term"])
    assert found == {*MAINS, f"{E}:{F}", f"{G}:{H}:{I}"}
    row = eff.set_index("term").loc[A]
    assert row.ci_low < 0.30 < row.ci_high


def test_the_variance_test_gives_the_planted_sd_ratio_an_interval(planted):
    row = planted.variance.set_index("switch").loc[J]
    assert row.ratio_low < 5 < row.ratio_high and row.ratio_low > 3  # planted: 0.05 / 0.01
    quiet = planted.variance.set_index("switch").drop(index=J)
    assert ((quiet["ratio_low"] < 1) & (quiet["ratio_high"] > 1)).mean() > 0.8


def test_effects_are_compared_with_the_seed_sd_by_their_intervals(planted):
    eff = planted.effects.set_index("term")
    sd = eff.attrs["noise_sd"]
    assert eff.loc[A, "beyond_noise"] and not eff.loc[A, "below_noise"]  # 0.6 on − off ≫ sd
    nothing = eff[eff.index.str.count(":") == 1].drop(index=f"{E}:{F}")
    assert nothing["below_noise"].mean() > 0.9  # null pairs: 90% intervals inside ±sd
    assert ((nothing["effect_high"] - nothing["effect_low"]) < 2 * sd).all()
    assert (eff["effect"] == 2 * eff["estimate"]).all()
    assert np.allclose(eff["effect_low"], 2 * eff["ci_low"])


def test_xgboost_contributions_equal_treeshap(planted):
    from ptlab.analysis import surrogate as sur

    X = planted.table.X.iloc[:50]
    np.testing.assert_allclose(
        sur.contributions(planted.model, X),
        sur.shap_explanation(planted.model, X).values,
        atol=1e-5,
    )


def test_no_planted_effects_reports_nothing():
    a = analyze(prepare(full_table(seed=1, planted=False)), n_rows=50)
    assert a.r2_oof < 0.1
    assert significant(a.effects).empty
    assert (a.variance["p_adjusted"] > 0.05).all()


def test_vectorised_triple_scan_equals_loop(planted):
    fast = inter.triple_strengths(planted.model, planted.table.X, n_rows=4, seed=3)
    slow = inter.triple_strengths_loop(planted.model, planted.table.X, n_rows=4, seed=3)
    key = ["switch1", "switch2", "switch3"]
    m = fast.merge(slow, on=key, suffixes=("_f", "_s"))
    assert len(m) == 120
    np.testing.assert_allclose(
        m.model_interaction_strength_f, m.model_interaction_strength_s, rtol=1e-5, atol=1e-7
    )


def test_additive_model_is_mirror_symmetric(planted):
    cells = inter.mirror_check(planted.table, [A, B, C])
    assert inter.is_mirrored(cells["additive"], cells["cell"])
    # additive cell + its complement is the same constant for all eight cells
    tot = {c: v for c, v in zip(cells["cell"], cells["additive"], strict=True)}
    sums = [tot[c] + tot["".join("1" if b == "0" else "0" for b in c)] for c in tot]
    assert np.ptp(sums) < 1e-9


def test_pure_error_from_replicates():
    df = full_table().iloc[:4]
    df = pd.concat([df, df.assign(**{"eval/loss": df["eval/loss"] + 0.1})], ignore_index=True)
    t = prepare(df, min_rows=2)
    pe = pure_error(t.X, t.y)
    assert pe.dof == 4 and pe.sd == pytest.approx(np.sqrt(0.005))


def test_resolvable_order_on_a_fraction():
    from ptlab.sweep.designs import make_design

    X = pd.DataFrame(make_design("fractional"))[list(SWITCHES)].astype(int)
    assert len(X) == 128 and resolvable_order(X) == 2  # resolution V: 3-way aliased with 2-way
    t = prepare(X.assign(**{"eval/loss": np.random.default_rng(0).normal(size=128)}))
    assert len(exact_effects(t)) == 55


# -- input validation ----------------------------------------------------------------------


def _table(**changes) -> pd.DataFrame:
    return full_table().iloc[:64].assign(**changes)


@pytest.mark.parametrize(
    "df, message",
    [
        (_table().drop(columns=[C]), "lacks switch columns: use_rms_norm"),
        (_table(**{A: 2}), "non-binary values"),
        (_table(**{"eval/loss": np.nan}), "missing or non-numeric eval/loss"),
        (_table().iloc[:5], "needs at least 8"),
        (_table().drop(columns=["eval/loss"]), "no column 'eval/loss'"),
    ],
)
def test_bad_tables(df, message):
    with pytest.raises(AnalysisInputError, match=message):
        prepare(df)


def test_non_ok_rows_are_excluded_and_counted():
    df = _table()
    df.loc[:2, "status"] = "diverged"
    df.loc[:2, "eval/loss"] = np.nan
    t = prepare(df)
    assert t.n == 61 and t.n_excluded == 3


def test_true_false_strings_and_xlsx(tmp_path):
    df = _table()
    df[A] = df[A].map({0: "FALSE", 1: "TRUE"})
    path = tmp_path / "sweep.xlsx"
    df.to_excel(path, index=False)
    t = prepare(read_table(path))
    assert t.X[A].tolist() == _table()[A].tolist()


def test_duplicated_columns_in_csv(tmp_path):
    path = tmp_path / "dup.csv"
    df = _table()
    cols = list(df.columns)
    path.write_text(",".join([*cols, A]) + "\n")
    with pytest.raises(AnalysisInputError, match="duplicated columns: untie_attn_weights"):
        read_table(path)


def _ptlab(*args):
    return subprocess.run(
        [sys.executable, "-m", "ptlab.cli", *args], capture_output=True, text=True
    )


def test_cli_writes_every_table(tmp_path):
    path = tmp_path / "sweep.parquet"
    full_table().sample(256, random_state=0).to_parquet(path)
    r = _ptlab("analyze", "--table", str(path), "--out", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    cols = {
        "univariate": ["switch", "mean_abs_shap", "rank", "fraction_on_top5", "fraction_on_top20"],
        "pairs": [
            "switch1",
            "switch2",
            "best_loss",
            "best_count",
            "switch1_val",
            "switch2_val",
            "interaction_strength",
        ],
        "triples": [
            "switch1",
            "switch2",
            "switch3",
            "model_interaction_strength",
            "best_loss",
            "best_count",
        ],
        "variance": ["switch", "statistic", "p_value", "p_adjusted"],
        "effects": ["term", "estimate", "ci_low", "ci_high"],
        "divergence": list(DIVERGENCE_COLUMNS),
    }
    for name in OUTPUTS:
        df = pd.read_csv(tmp_path / "out" / f"{name}.csv")
        assert list(df.columns[: len(cols[name])]) == cols[name]
    assert len(pd.read_csv(tmp_path / "out" / "pairs.csv")) == 45
    assert len(pd.read_csv(tmp_path / "out" / "triples.csv")) == 120


@pytest.mark.parametrize(
    "args, message",
    [
        (["analyze", "--out", "o"], "give exactly one of STUDY or --table"),
        (["analyze", "--table", "x.txt", "--out", "o"], "allowed: .xlsx, .csv, .parquet"),
        (["analyze", "nostudy", "--results-dir", ".", "--out", "o"], "no study 'nostudy'"),
    ],
)
def test_cli_bad_input_one_line(tmp_path, args, message):
    r = subprocess.run(
        [sys.executable, "-m", "ptlab.cli", *args], capture_output=True, text=True, cwd=tmp_path
    )
    assert r.returncode == 2
    assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "o").exists()
