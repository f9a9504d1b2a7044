"""Two languages from one execution: split an executed notebook into 中文 and English pages.

Markdown cells tagged ``lang-zh`` or ``lang-en`` go to that language only; untagged markdown
and every code cell (with its outputs, glue included) go to both, so both pages carry the same
figures and numbers. After the first markdown cell (the title) each page gets a link to its twin
and a box with the profile, parameters, commit and execution time.

The pages are for readers: the twin link and box follow the title; a section heading is placed
above the code cells whose outputs (tables) it discusses; the ``parameters`` cell and
papermill's injected one are dropped (the box shows the parameters in force, once); stderr
(warnings, stray progress) is dropped; a code cell the source does not tag otherwise is folded
(``hide-input``), so a page reads text, figure, conclusion with the code one click away.
Plumbing cells (imports, glue) carry ``remove-cell`` in the source.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path
from typing import Any

from ptlab.book.chapters import LANGS

TEXT = {
    "zh": {
        "twin": "English version",
        "title": "本章运行参数",
        "profile": "配置档",
        "commit": "代码提交",
        "executed": "执行于",
        "took": "用时",
        "params": "参数",
        "rerun": "换参数重跑本章",
    },
    "en": {
        "twin": "中文版",
        "title": "Parameters of this run",
        "profile": "profile",
        "commit": "commit",
        "executed": "executed",
        "took": "took",
        "params": "parameters",
        "rerun": "rerun with other parameters",
    },
}


def header_cell(lang: str, chapter: str, record: dict[str, Any]) -> dict:
    """The twin link and the run box, as a markdown cell."""
    import nbformat

    t = TEXT[lang]
    other = "en" if lang == "zh" else "zh"
    # None means "the profile's value": the profile named in the box says what it is
    params = {k: v for k, v in record["params"].items() if k != "profile" and v is not None}
    plist = ", ".join(f"`{k}={v!r}`" for k, v in params.items())
    commit = str(record.get("git_commit", "unknown"))[:12]
    src = (
        f"[{t['twin']} →](../{other}/{chapter}.ipynb)\n\n"
        f"```{{admonition}} {t['title']}\n:class: note\n"
        f"**{t['profile']}** `{record['profile']}` · **{t['commit']}** `{commit}` · "
        f"**{t['executed']}** {record.get('executed_at', '?')} · "
        f"**{t['took']}** {record.get('exec_seconds', 0):.0f} s\n\n"
        f"**{t['params']}** {plist}\n\n"
        f"{t['rerun']}: `ptlab run {chapter} -p name=value`\n```"
    )
    return nbformat.v4.new_markdown_cell(src, metadata={"tags": ["ptlab-header"]})


# myst-nb's fold prompts, per page (notebook-level ``mystnb`` config); English keeps its default
PROMPTS = {"zh": {"code_prompt_show": "显示代码", "code_prompt_hide": "隐藏代码"}, "en": {}}

DROPPED_TAGS = {"parameters", "injected-parameters"}
DISPLAY_TAGS = {"remove-cell", "remove-input", "remove-output", "hide-cell", "hide-input"}


def reader_cell(cell):
    """A copy of a code cell as a reader sees it: no stderr output, input folded by default."""
    cell = copy.deepcopy(cell)
    cell.outputs = [
        o for o in cell.get("outputs", []) if not (o.output_type == "stream" and o.name == "stderr")
    ]
    tags = cell.metadata.setdefault("tags", [])
    if not DISPLAY_TAGS & set(tags):
        tags.append("hide-input")
    return cell


def split_heading(source: str) -> tuple[str, str]:
    """(the leading Markdown heading line, the rest) of a cell; ("", source) if none."""
    first, _, rest = source.lstrip("\n").partition("\n")
    if first.startswith("#"):
        return first, rest.strip("\n")
    return "", source


def _section_start(cells: list) -> int:
    """Where a new section's heading goes: after the last markdown cell, so the code cells since
    then (whose outputs the section discusses) follow it; unless that markdown cell ends with a
    colon, i.e. introduces those outputs itself."""
    last_md = max((i for i, c in enumerate(cells) if c.cell_type == "markdown"), default=-1)
    if last_md >= 0 and cells[last_md].source.rstrip().endswith((":", "：")):
        return len(cells)
    return last_md + 1


def _markdown(text: str):
    import nbformat

    return nbformat.v4.new_markdown_cell(text)


def language_notebook(nb, lang: str, chapter: str, record: dict[str, Any]):
    """A copy of ``nb`` holding the cells of one language plus the header cell."""
    out = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        langs = [t[5:] for t in tags if t.startswith("lang-")]
        if cell.cell_type == "markdown" and langs and lang not in langs:
            continue
        if DROPPED_TAGS & set(tags):
            continue
        if cell.cell_type == "code":
            cells.append(reader_cell(cell))
        else:
            heading, rest = split_heading(cell.source)
            if heading and cells:  # a section's heading goes above the outputs it discusses
                cells.insert(_section_start(cells), _markdown(heading))
                heading = ""
            cells.extend(_markdown(t) for t in (heading, rest) if t)
    title = next((i for i, c in enumerate(cells) if c.cell_type == "markdown"), -1)
    cells.insert(title + 1, header_cell(lang, chapter, record))
    out.cells = cells
    out.metadata["language"] = lang
    if PROMPTS[lang]:
        out.metadata["mystnb"] = dict(PROMPTS[lang])
    return out


def split_chapter(nb, chapter: str, record: dict[str, Any], book_dir: Path) -> None:
    """Write ``book/<lang>/<chapter>.ipynb`` for each language (only if the content changed,
    so Sphinx's incremental build sees unchanged pages as unchanged)."""
    import nbformat

    for lang in LANGS:
        text = nbformat.writes(language_notebook(nb, lang, chapter, record))
        path = Path(book_dir) / lang / f"{chapter}.ipynb"
        if path.exists() and path.read_text() == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        os.replace(tmp, path)
