"""Sphinx hook for the book.

Listed in _config.yml under ``sphinx.extra_extensions``:

* At ``config-inited`` (before sphinx-external-toc reads the TOC) plain
  ``jupyter-book build book`` executes the missing or stale chapters, so the per-language pages
  exist when Sphinx looks for them. Set PTLAB_PROFILE to build in one profile
  (``ptlab book --profile smoke`` does).
* One Sphinx build holds both languages, but ``numfig_format`` is a single setting; a
  post-transform sets it per page before references are resolved and the page is written, so
  English pages say "Figure 3.2" and Chinese pages "图 3.2", numbered within each chapter.
* The interface strings (上一页 / previous, 目录 / Contents, 搜索 / Search) come from one
  ``language`` (zh_CN); before each page is rendered, English pages get the untranslated
  (English) catalogs and ``lang="en"``, Chinese pages the Chinese ones. Pages are written one
  after the other, so the swap is per page.
* Chinese source lines are wrapped at 100 columns; HTML turns each line break into a space,
  which shows between two Chinese characters (中文 typesetting has none). A post-transform
  drops a line break between two CJK characters in every text node outside code and math.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from sphinx.transforms.post_transforms import SphinxPostTransform

from ptlab.book.pagecheck import CJK  # one definition of "a Chinese character" for both

NUMFIG = {
    "zh": {"figure": "图 %s", "table": "表 %s", "code-block": "代码 %s", "section": "%s 节"},
    "en": {
        "figure": "Figure %s",
        "table": "Table %s",
        "code-block": "Listing %s",
        "section": "Section %s",
    },
}


def page_language(docname: str) -> str:
    """``zh`` or ``en`` from the page's folder; other pages (the landing page) count as zh."""
    first = docname.split("/", 1)[0]
    return first if first in NUMFIG else "zh"


class PageNumfig(SphinxPostTransform):
    """Figure and table captions in the page's language, numbered within the chapter (runs
    before ReferencesResolver and before the page is written)."""

    default_priority = 1

    def run(self, **kwargs) -> None:
        self.config.numfig_format = dict(NUMFIG[page_language(self.env.docname)])
        # Sphinx counts figures per chapter number, so zh chapter 2 and en chapter 2 share one
        # counter (en would start at 2.3); restart the count in every page, keeping the order.
        for numbers in self.env.toc_fignumbers.get(self.env.docname, {}).values():
            for i, key in enumerate(sorted(numbers, key=numbers.get), 1):
                numbers[key] = (*numbers[key][:-1], i)


def _page_interface(app, pagename, templatename, context, doctree) -> None:
    """Interface strings and ``<html lang>`` in the page's language (see the module docstring)."""
    import gettext

    lang = page_language(pagename)
    english = lang == "en"
    translator = gettext.NullTranslations() if english else app.translator
    app.builder.templates.environment.install_gettext_translations(translator)
    if english:
        context["translate"] = str  # sphinx-book-theme's own catalog
        context["lang_attr"] = "en"


def _ensure(app, config) -> None:
    from ptlab.book.runner import Book, ensure_book

    book = Book.find(Path(app.srcdir))
    ensure_book(book)


CJK_BREAK = re.compile(rf"(?<=[{CJK}])[ \t]*\n[ \t]*(?=[{CJK}])")
IS_CJK = re.compile(rf"[{CJK}]")
KEEP_AS_IS = (nodes.literal_block, nodes.literal, nodes.math, nodes.math_block, nodes.raw)


def join_cjk_lines(text: str) -> str:
    """``text`` without the line breaks that sit between two CJK characters."""
    return CJK_BREAK.sub("", text)


def join_cjk_breaks(tree: nodes.Node) -> None:
    """Drop, in ``tree``, every line break between two CJK characters: inside one text node,
    and a soft break that MyST parses as a text node of its own ("\n") between two siblings
    (plain text or inline markup such as a glued number or a link)."""
    for node in list(tree.findall(nodes.Text)):
        if "\n" not in node or any(isinstance(a, KEEP_AS_IS) for a in _ancestors(node)):
            continue
        parent = node.parent
        # by identity: Text nodes are strings, so list.index would find the first equal "\n"
        i = next(k for k, child in enumerate(parent.children) if child is node)
        if node.strip(" \t") == "\n":  # a soft break between two siblings
            # the nearest non-empty neighbours (MyST leaves empty text nodes before markup)
            before = next((c.astext()[-1] for c in parent[:i][::-1] if c.astext()), "")
            after = next((c.astext()[0] for c in parent[i + 1 :] if c.astext()), "")
            if IS_CJK.match(before) and IS_CJK.match(after):
                del parent.children[i]
            continue
        joined = join_cjk_lines(str(node))
        if joined != str(node):
            parent.children[i] = nodes.Text(joined)
            parent.children[i].parent = parent


class CjkLineBreaks(SphinxPostTransform):
    """Drop the line break between two CJK characters in prose (see the module docstring)."""

    default_priority = 900  # after glue references are resolved

    def run(self, **kwargs) -> None:
        join_cjk_breaks(self.document)


def _ancestors(node):
    node = node.parent
    while node is not None:
        yield node
        node = node.parent


def setup(app):
    app.connect("config-inited", _ensure, priority=100)
    app.add_post_transform(PageNumfig)
    app.add_post_transform(CjkLineBreaks)
    app.connect("html-page-context", _page_interface, priority=900)  # after the theme's
    # pages are resolved and written one after the other with the numfig format of each
    # env_version: bump when a transform changes what pages look like, so an existing build
    # re-renders every page instead of keeping pages written by the older transform
    return {
        "parallel_read_safe": True,
        "parallel_write_safe": False,
        "version": "3",
        "env_version": 3,
    }
