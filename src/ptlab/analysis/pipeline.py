"""The whole switch analysis in one call, shared by ``ptlab analyze`` and the chapters."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ptlab.analysis import effects as eff
from ptlab.analysis import interactions as inter
from ptlab.analysis import surrogate as sur
from ptlab.analysis import variance as var
from ptlab.analysis.table import SwitchTable

OUTPUTS = ("univariate", "pairs", "triples", "variance", "effects", "divergence")


@dataclass
class Analysis:
    """Everything the chapters show; ``tables()`` are the CLI's CSV files (``OUTPUTS``)."""

    table: SwitchTable
    model: object
    shap_values: np.ndarray
    interaction_values: np.ndarray
    r2_oof: float
    univariate: pd.DataFrame
    pairs: pd.DataFrame
    triples: pd.DataFrame
    variance: pd.DataFrame
    effects: pd.DataFrame
    extras: dict = field(default_factory=dict)

    def tables(self) -> dict[str, pd.DataFrame]:
        return {
            "univariate": self.univariate[
                ["switch", "mean_abs_shap", "rank", "fraction_on_top5", "fraction_on_top20"]
            ],
            "pairs": self.pairs,
            "triples": self.triples,
            "variance": self.variance[["switch", "statistic", "p_value", "p_adjusted"]],
            "effects": self.effects[
                [
                    "term",
                    "estimate",
                    "ci_low",
                    "ci_high",
                    "p_value",
                    "p_adjusted",
                    "beyond_noise",
                    "below_noise",
                ]
            ],
            "divergence": self.table.divergence,
        }


def study_noise(
    study: str,
    results_dir,
    metric: str = "eval/loss",
    profile: str | None = None,
    noise_study: str | None = None,
) -> eff.PureError | None:
    """Pure error, the error term of the exact effects: the pooled within-config sd over every
    replicated config of the study and its companions, each run counted once. The companions are
    ``noise_study`` (default ``STUDY-noise``: anchor configs under several seeds) and
    ``STUDY-replicates`` (a random tenth of the design's own configs under new seeds), where they
    exist. None when nothing is replicated."""
    frame = replicate_frame(study, results_dir, profile, noise_study)
    if frame is None:
        return None
    ok = frame[frame["status"] == "ok"]
    from ptlab.analysis.table import prepare

    t = prepare(ok, metric, source=f"replicates of {study!r}", min_rows=2)
    return eff.pure_error(t.X, t.y)


def replicate_frame(
    study: str, results_dir, profile: str | None = None, noise_study: str | None = None
) -> pd.DataFrame | None:
    """The study's runs and those of its replicate companions (see ``study_noise``), one row per
    run, of one profile; None when no companion exists."""
    from ptlab.sweep import load_results

    names = [noise_study or f"{study}-noise", f"{study}-replicates"]
    have = [n for n in names if (Path(results_dir) / n).is_dir()]
    if noise_study is not None and noise_study not in have:
        from ptlab.analysis.table import AnalysisInputError

        raise AnalysisInputError(f"no noise study {noise_study!r} in {results_dir}")
    if not have:
        return None
    frames = [load_results(n, results_dir) for n in [study, *have]]
    df = pd.concat(frames, ignore_index=True).drop_duplicates("run_id")
    if "profile" in df:
        profiles = sorted(df["profile"].dropna().unique())
        if profile is None and len(profiles) > 1:
            from ptlab.analysis.table import AnalysisInputError

            raise AnalysisInputError(
                f"the replicates of {study!r} mix profiles {', '.join(profiles)}; choose one "
                "with --profile"
            )
        if profile is not None:
            df = df[df["profile"] == profile]
    return df


def analyze(
    t: SwitchTable, noise: eff.PureError | None = None, seed: int = 0, n_rows: int = 200
) -> Analysis:
    """Fit the surrogate, explain it, scan pairs and triples, test variance, fit exact effects."""
    lower = t.metric != "eval/accuracy"
    model = sur.fit_surrogate(t.X, t.y, seed)
    sv = sur.shap_explanation(model, t.X).values
    iv = sur.interaction_values(model, t.X)
    strengths = inter.triple_strengths(model, t.X, n_rows=n_rows, seed=seed)
    return Analysis(
        table=t,
        model=model,
        shap_values=sv,
        interaction_values=iv,
        r2_oof=sur.oof_r2(t.X, t.y, seed=seed),
        univariate=sur.univariate(t, sv, lower),
        pairs=inter.pair_scan(t, iv, lower),
        triples=inter.triple_scan(t, strengths, iv, lower),
        variance=var.variance_tests(t),
        effects=eff.exact_effects(t, noise=noise),
    )


def write_tables(a: Analysis, out: str | os.PathLike) -> list[Path]:
    """Write the CSVs (``OUTPUTS``) into ``out``, each atomically (a crash never leaves half a
    file)."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, df in a.tables().items():
        path = out / f"{name}.csv"
        fd, tmp = tempfile.mkstemp(dir=out, prefix=f".{name}.", suffix=".tmp")
        with os.fdopen(fd, "w", newline="") as f:
            df.to_csv(f, index=False)
        os.replace(tmp, path)
        paths.append(path)
    return paths
