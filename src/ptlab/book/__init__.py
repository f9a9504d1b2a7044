"""The book pipeline: chapter sources -> papermill -> 中文/English pages -> Jupyter Book."""

from ptlab.book.chapters import Chapter, ChapterError, read_chapter
from ptlab.book.runner import Book, chapter_state, ensure_book, params_in_force, run_chapter

__all__ = [
    "Book",
    "Chapter",
    "ChapterError",
    "chapter_state",
    "ensure_book",
    "params_in_force",
    "read_chapter",
    "run_chapter",
]
