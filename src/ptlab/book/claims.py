"""The claims ledger: every claim of the lab's Notes 1–5, its verdict in the book's three words,
the interval behind it, and the section that decides it.

A chapter that tests claims calls ``record_claims(chapter, [Claim(...), ...])`` once; the record
goes to ``book/generated/claims/<chapter>.json`` (atomically), and the ``claims`` page gathers
the records of every chapter (``load_claims``). Nothing on that page is typed: the claim, the
outcome and the evidence are what the chapter computed in this build.

``section`` is the label prefix of the deciding section: the chapter's markdown carries the
targets ``(<section>-zh)=`` and ``(<section>-en)=`` above that section's heading, and the ledger
links to them with ``{ref}``.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

from ptlab.verdict import OUTCOME_WORDS, OUTCOMES

NOTES = (1, 2, 3, 4, 5)


@dataclass(frozen=True)
class Claim:
    """One claim of a note and this build's verdict on it."""

    note: int  # 1..5, the numbering of the book's research-notes page
    key: str  # unique in the book, e.g. "note3.v2_mean"
    claim_zh: str  # the claim as the note makes it, in the book's words
    claim_en: str
    outcome: str  # one of ptlab.verdict.OUTCOMES
    evidence_zh: str  # the interval (and, if undetermined, the smallest detectable effect)
    evidence_en: str
    section: str  # label prefix of the deciding section (targets <section>-zh / <section>-en)

    def __post_init__(self) -> None:
        if self.note not in NOTES:
            raise ValueError(f"claim {self.key}: note must be one of {NOTES}, got {self.note!r}")
        if self.outcome not in OUTCOMES:
            raise ValueError(
                f"claim {self.key}: outcome must be one of {', '.join(OUTCOMES)}, "
                f"got {self.outcome!r}"
            )
        for name in ("key", "claim_zh", "claim_en", "section"):
            if not getattr(self, name):
                raise ValueError(f"claim {self.key or '?'}: {name} is empty")

    def word(self, lang: str) -> str:
        return OUTCOME_WORDS[lang][self.outcome]


def claims_dir(generated: Path | None = None) -> Path:
    if generated is None:
        from ptlab.book.runner import Book

        generated = Book.find().generated
    return Path(generated) / "claims"


def record_claims(chapter: str, claims: list[Claim], generated: Path | None = None) -> Path:
    """Write this chapter's claims (replacing its previous record, atomically); returns the path.
    Keys must be unique."""
    keys = [c.key for c in claims]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise ValueError(f"chapter {chapter}: duplicate claim keys {', '.join(dup)}")
    path = claims_dir(generated) / f"{chapter}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(
        json.dumps({"chapter": chapter, "claims": [asdict(c) for c in claims]}, indent=1)
    )
    os.replace(tmp, path)
    return path


def load_claims(chapters: list[str], generated: Path | None = None):
    """All recorded claims of ``chapters`` (in that order) as a DataFrame with a ``chapter``
    column, sorted by note; a chapter with no record contributes nothing."""
    import pandas as pd

    rows = []
    for ch in chapters:
        path = claims_dir(generated) / f"{ch}.json"
        if path.exists():
            for c in json.loads(path.read_text())["claims"]:
                rows.append({"chapter": ch, **asdict(Claim(**c))})
    cols = ["chapter", *Claim.__dataclass_fields__]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["note"], kind="stable").reset_index(drop=True)
