"""The page check: what a reader must never see on a built page.

``check_page(html)`` lists the problems of one page: placeholders (``IPython.core.display``,
``object at 0x``, numpy reprs), unrendered Markdown (``**``, ``- `` paragraphs, ``{ref}`` or
other raw roles, fences), unrendered ``$…$`` math, a line break between two Chinese characters
(a browser shows it as a space), ``nan`` in prose or tables, tables wider than
the table rule allows, and images whose alt text is empty or a file path. ``check_site(dir)``
runs it on every page of a built site. ``ptlab book`` prints the problems after a build (and
fails with ``-W``); the smoke build's test requires none. Code cells and their outputs of type
code are skipped: only what a reader reads is checked.
"""

from __future__ import annotations

import re
from pathlib import Path

from ptlab.display import MAX_COLUMNS

PLACEHOLDERS = ("IPython.core.display", "object at 0x", "np.float64(", "np.int64(", "<function ")
RAW_ROLE = re.compile(r"\{(ref|glue|glue:text|glue:md|download|numref|doc|math)\}`")
RAW_MATH = re.compile(r"(?<![\\$])\$[^$\s][^$\n]{0,200}?(?<!\s)\$(?!\$)")
NAN = re.compile(r"(?<![\w.])(nan|NaN)(?![\w])")
# class names matched whole: myst-nb marks every notebook section "mathjax_ignore", which a
# substring match on "math" took for a formula and skipped the whole page
SKIP_CLASS = re.compile(r"^(highlight.*|stream|output_stream|math|MathJax.*)$")
MATH_CLASS = re.compile(r"^(math|MathJax.*)$")
# CJK ideographs, CJK punctuation and full-width forms (，。（）)
CJK = "\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uff00-\uffef"
CJK_BREAK = re.compile(rf"[{CJK}][ \t]*\n[ \t]*[{CJK}]")
BLOCKS = {"ul", "ol", "li", "dl", "dt", "dd", "div", "section", "blockquote", "table", "tr"}
READ_TAGS = ["p", "li", "td", "th", "h1", "h2", "h3", "h4", "dt", "dd", "figcaption"]
# a file path, not a description ("on/off" or "稀疏/稠密" in a sentence is fine)
IMAGE_ALT_PATH = re.compile(
    r"(\.(png|svg|jpe?g)$)|(^(\.\./)?_images/)|(^[\w.\-]*(/[\w.\-]+)+$)", re.ASCII
)


def _reader_text(soup) -> list[tuple[str, str]]:
    """(where, text) for each paragraph-like element a reader reads (code excluded)."""
    main = soup.find("main") or soup
    out = []
    for el in main.find_all(READ_TAGS):
        if el.find_parent(["pre", "code"]) or el.find_parent(class_="cell_input"):
            continue
        if el.find_parent(class_=SKIP_CLASS):
            continue
        parts = []
        for s in el.find_all(string=True):
            if s.find_parent(["script", "style"]):
                continue
            if not s.strip() and s.parent.name in BLOCKS:
                continue  # the source's line breaks between block elements render as nothing
            if s.find_parent(["code", "pre"]) or s.find_parent(class_=MATH_CLASS):
                parts.append("∎")  # code or a formula: unchecked, but not nothing (CJK breaks)
                continue
            parts.append(str(s))
        out.append((el.name, "".join(parts)))
    return out


def check_page(html: str) -> list[str]:
    """The problems a reader would see on this page (empty when there are none)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(html, "html.parser")
    main = soup.find("main") or soup
    problems: list[str] = []
    visible = main.get_text(" ")
    for token in PLACEHOLDERS:
        if token in visible:
            problems.append(f"placeholder {token!r}")
    for where, text in _reader_text(soup):
        snippet = text.strip()[:60]
        if "**" in text:
            problems.append(f"raw ** in <{where}>: {snippet!r}")
        if where == "p" and re.match(r"\s*[-*] \S", text):
            problems.append(f"a list rendered as a paragraph: {snippet!r}")
        if RAW_ROLE.search(text):
            problems.append(f"raw role in <{where}>: {snippet!r}")
        if "```" in text:
            problems.append(f"raw fence in <{where}>: {snippet!r}")
        if RAW_MATH.search(text):
            problems.append(f"unrendered $…$ math in <{where}>: {snippet!r}")
        if CJK_BREAK.search(text):
            problems.append(f"a line break between Chinese characters (a space): {snippet!r}")
        if NAN.search(text):
            problems.append(f"nan in <{where}>: {snippet!r}")
    for table in main.find_all("table"):
        widest = max((len(r.find_all(["td", "th"])) for r in table.find_all("tr")), default=0)
        if widest > MAX_COLUMNS + 1:  # the index column plus at most MAX_COLUMNS
            head = " | ".join(th.get_text(" ", strip=True) for th in table.find_all("th")[:4])
            problems.append(f"table with {widest} columns ({head} …)")
    for img in main.find_all("img"):
        alt = (img.get("alt") or "").strip()
        if not alt or IMAGE_ALT_PATH.search(alt):
            problems.append(f"image without descriptive alt text: {img.get('src', '?')!r}")
    return problems


def check_site(html_dir: str | Path, pages: list[str] | None = None) -> dict[str, list[str]]:
    """{page: problems} for the pages of a built site (default: every language page and the
    landing page) that have any."""
    root = Path(html_dir)
    files = (
        [root / p for p in pages]
        if pages
        else [root / "index.html", *sorted(root.glob("zh/*.html")), *sorted(root.glob("en/*.html"))]
    )
    out = {}
    for f in files:
        if f.exists():
            found = check_page(f.read_text(encoding="utf-8"))
            if found:
                out[str(f.relative_to(root))] = found
    return out
