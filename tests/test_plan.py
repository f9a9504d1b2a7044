"""The build plan line: each chapter's expected time, chapters over their budget, the total."""

from types import SimpleNamespace

from ptlab.book.runner import describe_plan


class FakeBook:
    def __init__(self, records):
        self.records = records

    def record(self, name):
        return self.records.get(name)


def chapter(name, **seconds):
    return SimpleNamespace(name=name, seconds=seconds)


def test_plan_lists_times_flags_chapters_over_their_budget_and_gives_the_total():
    book = FakeBook({"slow": {"profile": "quick", "exec_seconds": 900.0}})
    plan = [
        (chapter("fine", quick=600), {"profile": "quick"}),
        (chapter("slow", quick=600), {"profile": "quick"}),  # last run here: 15 min
    ]
    line = describe_plan(book, plan)
    assert "fine (quick, ~10 min)" in line
    assert "slow (quick, ~15 min, OVER its 10 min budget)" in line
    assert "about 25 min in all, within the book's 60 min budget" in line


def test_plan_says_when_the_book_overruns_and_names_untimed_chapters():
    book = FakeBook({})
    plan = [
        (chapter("a", quick=2400), {"profile": "quick"}),
        (chapter("b", quick=1800), {"profile": "quick"}),
        (chapter("new"), {"profile": "quick"}),
    ]
    line = describe_plan(book, plan)
    assert "new (quick, untimed)" in line and "OVER its" not in line
    assert "about 70 min in all plus untimed chapters, OVER the book's 60 min budget" in line
