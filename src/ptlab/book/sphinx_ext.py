"""Sphinx hook: plain ``jupyter-book build book`` first executes missing or stale chapters.

Listed in _config.yml under ``sphinx.extra_extensions``. It runs at ``config-inited`` before
sphinx-external-toc reads the TOC, so the per-language pages exist when Sphinx looks for them.
Set PTLAB_PROFILE to build in one profile (``ptlab book --profile smoke`` does).
"""

from __future__ import annotations

from pathlib import Path


def _ensure(app, config) -> None:
    from ptlab.book.runner import Book, ensure_book

    book = Book.find(Path(app.srcdir))
    ensure_book(book, log=lambda msg: print(msg, flush=True))


def setup(app):
    app.connect("config-inited", _ensure, priority=100)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
