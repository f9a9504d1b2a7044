"""Designs over the switches."""

import numpy as np
import pytest

from ptlab.models import SWITCHES, ConfigError
from ptlab.sweep import designs


def _matrix(rows):
    return np.array([[1 if r[s] else -1 for s in SWITCHES] for r in rows])


def test_full_and_random():
    full = designs.full_design()
    assert len(full) == 1024 and len({tuple(r.values()) for r in full}) == 1024
    rnd = designs.random_design(50, seed=1)
    assert len({tuple(r.values()) for r in rnd}) == 50
    assert rnd == designs.random_design(50, seed=1) != designs.random_design(50, seed=2)
    with pytest.raises(ConfigError, match="between 1 and 1024"):
        designs.random_design(2000)


def test_fractional_is_resolution_v_and_orthogonal():
    rows = designs.fractional_design(3)
    X = _matrix(rows)
    assert len(rows) == 128 and len({tuple(r) for r in X}) == 128
    assert designs.resolution(3) >= 5
    two_way = [X[:, i] * X[:, j] for i in range(10) for j in range(i + 1, 10)]
    M = np.column_stack([np.ones(128), X, *two_way])
    # main effects and all 45 two-way interactions are estimable and mutually orthogonal
    np.testing.assert_allclose(M.T @ M / 128, np.eye(56), atol=1e-12)
    assert len(designs.fractional_design(2)) == 256 and designs.resolution(2) >= 6


def test_anchors_and_pin():
    a = designs.anchors_design()
    assert a[0] == dict.fromkeys(SWITCHES, False) and a[1] == dict.fromkeys(SWITCHES, True)
    pinned = designs.pin(designs.full_design(), {"use_rms_norm": True})
    assert len(pinned) == 512 and all(r["use_rms_norm"] for r in pinned)


def test_make_design_errors():
    with pytest.raises(ConfigError, match="allowed: full, random, fractional"):
        designs.make_design("latin")
    with pytest.raises(ConfigError, match="needs --n"):
        designs.make_design("random")
    with pytest.raises(ConfigError, match="p in 1..4"):
        designs.make_design("fractional", p=7)


def test_design_summary_is_computed_from_the_rows():
    from ptlab.analysis.verdicts import design_sentence
    from ptlab.sweep.designs import design_summary, fractional_design, random_design

    frac = design_summary(fractional_design(3))
    assert frac == {"n_runs": 128, "resolution": 5, "regular": True, "p": 3, "orthogonal_2fi": True}
    assert "分辨度 V" in design_sentence(frac)[0] and "resolution V" in design_sentence(frac)[1]
    res4 = design_summary(fractional_design(4))
    assert res4["resolution"] == 4 and not res4["orthogonal_2fi"]
    rnd = design_summary(random_design(24))
    assert not rnd["regular"] and rnd["resolution"] is None
    assert "randomly drawn" in design_sentence(rnd)[1]
