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


def record_claims(
    chapter: str, claims: list[Claim], generated: Path | None = None, glue: bool = True
) -> Path:
    """Write this chapter's claims (replacing its previous record, atomically) and, in a chapter
    (``glue``), glue the counts as ``claims_zh`` / ``claims_en`` for the landing page; returns
    the path. Keys must be unique."""
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
    if glue:
        from ptlab.book.glue import glue_value

        for lang in ("zh", "en"):
            glue_value(f"claims_{lang}", summary(claims, lang))
    return path


def summary(claims: list[Claim], lang: str) -> str:
    """ "2 supported · 1 contradicted · 3 undetermined" (zero counts left out), in ``lang``."""
    if not claims:
        return "本章不检验笔记中的结论" if lang == "zh" else "no claim of the notes is tested here"
    counts = {o: sum(c.outcome == o for c in claims) for o in OUTCOMES}
    words = OUTCOME_WORDS[lang]
    parts = [
        f"{words[o]} {n}" if lang == "zh" else f"{n} {words[o]}" for o, n in counts.items() if n
    ]
    return " · ".join(parts)


def _unbroken(text: str) -> str:
    """Chinese text joined by WORD JOINER (U+2060): a browser may break a Chinese line between
    any two characters, which stacks "笔记三" one character a line in a narrow column."""
    return "\u2060".join(text)


def ledger_markdown(table, lang: str) -> str:
    """The ledger as a MyST table (render with ``{glue:md}`` and ``:format: myst``): note,
    claim, verdict, evidence and a link to the deciding section, one row per claim."""
    head = {
        "zh": "| 笔记 | 结论 | 判定 | 依据 | 见 |\n|---|---|---|---|---|",
        "en": "| note | claim | verdict | evidence | see |\n|---|---|---|---|---|",
    }[lang]
    rows = [head]
    for r in table.itertuples():
        claim = getattr(r, f"claim_{lang}").replace("|", "\\|")
        evidence = getattr(r, f"evidence_{lang}").replace("|", "\\|")
        note = f"笔记{'一二三四五'[r.note - 1]}" if lang == "zh" else f"Note {r.note}"
        word = OUTCOME_WORDS[lang][r.outcome]
        if lang == "zh":  # short labels in narrow columns: no break between their characters
            note, word = _unbroken(note), _unbroken(word)
        link = f"{{ref}}`§ <{r.section}-{lang}>`"
        rows.append(f"| {note} | {claim} | {word} | {evidence} | {link} |")
    return "\n".join(rows)


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
