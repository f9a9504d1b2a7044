"""The book pipeline: papermill runner, staleness, language split, CJK figures, smoke build."""

import json
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("jupyter_book")


def copy_book(dst: Path) -> Path:
    """A private copy of the book sources (the build writes results/, book/generated, _build)."""
    for f in ("_config.yml", "_toc.yml"):
        shutil.copy(ROOT / f, dst / f)
    shutil.copytree(ROOT / "notebooks", dst / "notebooks")
    shutil.copytree(
        ROOT / "book",
        dst / "book",
        symlinks=True,
        ignore=shutil.ignore_patterns("generated", "*.ipynb", "params"),
    )
    return dst


def test_toc_symlink_points_to_top_level():
    assert (ROOT / "book" / "_toc.yml").resolve() == (ROOT / "_toc.yml").resolve()


def test_figures_use_the_shipped_cjk_font_even_beside_a_system_copy(tmp_path):
    """A machine with Debian's Noto CJK installs the same family name from another file; the
    figures must still use the shipped font, and every Chinese glyph must be in it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    from ptlab.book import plotting

    manager = font_manager.fontManager
    shipped_name = "Noto Sans CJK SC"
    dejavu = str(font_manager.findfont("DejaVu Sans"))
    decoy = font_manager.FontEntry(fname=dejavu, name=shipped_name, weight=400, size="scalable")
    manager.ttflist.insert(0, decoy)  # what a system .ttc of the same family looks like
    plotting.use_cjk_font.cache_clear()
    plotting.setup_figures()
    text = "训练损失 · 注意力头"
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" would raise here
        fig, ax = plt.subplots()
        ax.set_title(text)
        fig.savefig(tmp_path / "zh.png")
        plt.close(fig)
    path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    assert path != decoy.fname
    font = font_manager.get_font(path)
    assert all(font.get_char_index(ord(ch)) for ch in text if not ch.isspace())


def test_chapter_parameters_are_parsed_and_checked():
    from ptlab.book import ChapterError, read_chapter

    ch = read_chapter(ROOT / "notebooks" / "sweep.py")
    assert ch.defaults["design"] == "fractional" and "profile" not in ch.defaults
    assert ch.params_for("smoke")["n_configs"] == 24
    assert ch.check_param("n_configs", "40") == 40
    with pytest.raises(ChapterError, match="has no parameter 'n_config'; allowed:"):
        ch.check_param("n_config", "40")
    with pytest.raises(ChapterError, match="n_configs must be an integer"):
        ch.check_param("n_configs", "many")


def ptlab(cwd, *args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "ptlab.cli", *args], cwd=cwd, capture_output=True, text=True, env=env
    )


def test_run_records_parameters_and_staleness(tmp_path):
    from ptlab.book.runner import Book, chapter_state, params_in_force

    root = copy_book(tmp_path)
    r = ptlab(root, "run", "models", "--profile", "smoke", "-p", "seeds=1")
    assert r.returncode == 0, r.stderr
    book = Book(root)
    ch = book.chapter("models")
    nb = json.loads((book.generated / "models.ipynb").read_text())
    assert nb["metadata"]["papermill"]["parameters"]["seeds"] == 1
    assert nb["metadata"]["ptlab"]["params"]["profile"] == "smoke"
    stored = json.loads(book.params_file("models").read_text())
    assert stored == {"profile": "smoke", "overrides": {"seeds": 1}}
    params = params_in_force(book, ch)
    assert params["seeds"] == 1 and chapter_state(book, ch, params)[0] == "fresh"
    for lang, twin in (("zh", "en"), ("en", "zh")):
        page = (root / "book" / lang / "models.ipynb").read_text()
        assert f"../{twin}/models.ipynb" in page
    # an unknown parameter: one line, non-zero exit, previous output untouched
    before = (book.generated / "models.ipynb").read_bytes()
    bad = ptlab(root, "run", "models", "-p", "seedz=2")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "no parameter 'seedz'; allowed: results_dir, seeds, study" in bad.stderr
    assert (book.generated / "models.ipynb").read_bytes() == before
    # touching the source makes the chapter stale; nothing else does
    src = root / "notebooks" / "models.py"
    src.write_text(src.read_text() + "\n# touched\n")
    assert chapter_state(book, book.chapter("models"), params) == ("stale", "source changed")


VENV_BIN = Path(sys.executable).parent
CHAPTERS = (
    "models",
    "sweep",
    "shap",
    "variance",
    "attribution",
    "residual",
    "circuits",
    "claims",
)


def user_env(**extra) -> dict:
    """A new user's shell: no virtual environment active, no venv on PATH."""
    env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "HOME": str(Path.home()), "LANG": "C.UTF-8"}
    return {**env, **extra}


@pytest.fixture(scope="module")
def smoke_site(tmp_path_factory):
    """The book built from clean in the smoke profile exactly as `make book` runs it: the venv's
    `ptlab book` with a PATH that does not hold the venv (plus -W: warnings are errors)."""
    root = copy_book(tmp_path_factory.mktemp("book"))
    cmd = [str(VENV_BIN / "ptlab"), "book", "-W"]
    first = subprocess.run(
        cmd, cwd=root, capture_output=True, text=True, env=user_env(PTLAB_PROFILE="smoke")
    )
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    return root, first, cmd


def test_smoke_build_from_clean_the_way_make_book_runs_it(smoke_site):
    root, first, cmd = smoke_site
    assert first.stdout.count("executing chapter") == len(CHAPTERS)
    assert "chapter(s) to execute" in first.stdout  # the plan is printed before any work
    html = root / "_build" / "html"
    for lang in ("zh", "en"):
        page = (html / lang / "sweep.html").read_text()
        assert "np.float64" not in page and "<img" in page
        assert f'href="../{"en" if lang == "zh" else "zh"}/sweep.html"' in page
        for name in ("shap", "variance", "attribution", "residual", "circuits"):  # no reprs
            page = (html / lang / f"{name}.html").read_text()
            assert "np.float64" not in page and page.count("<img") >= 2
    assert (html / "_static" / "mathjax" / "tex-chtml.js").exists()  # math with no network
    from ptlab.book.pagecheck import check_site

    assert check_site(html) == {}  # no placeholder, raw markup, nan, wide table or bare image
    assert list((html / "_downloads").rglob("runs.csv"))  # the sweep's table is downloadable
    again = subprocess.run(
        cmd, cwd=root, capture_output=True, text=True, env=user_env(PTLAB_PROFILE="smoke")
    )
    assert again.returncode == 0 and "executing chapter" not in again.stdout
    # offline internal link check; linkchecker drops root privileges to `nobody`, so it reads
    # a world-readable copy (pytest's tmp root is private)
    import tempfile

    public = Path(tempfile.mkdtemp(prefix="ptlab-site-"))
    try:
        shutil.copytree(html, public / "html")
        subprocess.run(["chmod", "-R", "a+rX", str(public)], check=True)
        exe = str(VENV_BIN / "linkchecker")
        args = ["--no-status", "--no-warnings", "--ignore-url=^https?://"]
        lc = subprocess.run(
            [exe, *args, str(public / "html" / "index.html")], capture_output=True, text=True
        )
        assert lc.returncode == 0, lc.stdout[-2000:]
    finally:
        shutil.rmtree(public)


def test_missing_jupyter_book_is_one_line_before_any_work(tmp_path, monkeypatch):
    from ptlab.book import ChapterError, runner

    monkeypatch.setattr("importlib.util.find_spec", lambda name: None)
    with pytest.raises(ChapterError, match="jupyter-book is not installed"):
        runner.jupyter_book_command("build", "book")


def test_build_plan_lists_downstream_chapters_with_estimates(tmp_path):
    from ptlab.book.runner import Book, build_plan, describe_plan

    book = Book(copy_book(tmp_path))
    plan = build_plan(book, "quick")
    assert [c.name for c, _ in plan] == [*CHAPTERS]  # nothing executed yet: all of them
    line = describe_plan(book, plan)
    assert line.startswith(f"ptlab: {len(CHAPTERS)} chapter(s) to execute: models (quick, ~")
    assert "min" in line


def test_pages_drop_parameters_and_stderr_and_fold_code():
    import nbformat

    from ptlab.book.split import language_notebook

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# T"),
        nbformat.v4.new_code_cell("x = 1", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell("x = 2", metadata={"tags": ["injected-parameters"]}),
        nbformat.v4.new_code_cell("import os", metadata={"tags": ["remove-cell"]}),
        nbformat.v4.new_code_cell(
            "f()",
            outputs=[
                nbformat.v4.new_output("stream", name="stderr", text="50%|#####| 1/2"),
                nbformat.v4.new_output("stream", name="stdout", text="hello"),
            ],
        ),
    ]
    rec = {"params": {"profile": "smoke", "x": 2}, "profile": "smoke"}
    out = language_notebook(nb, "en", "t", rec)
    code = [c for c in out.cells if c.cell_type == "code"]
    assert [c.source for c in code] == ["import os", "f()"]
    assert code[0].metadata.tags == ["remove-cell"]
    assert code[1].metadata.tags == ["hide-input"]
    assert [o.name for o in code[1].outputs] == ["stdout"]
    assert "`x=2`" in out.cells[1].source  # the parameters, once, in the header box


def test_progress_bars_go_to_the_runner_file_not_the_page(tmp_path, monkeypatch):
    from ptlab.progress import ENV, ConsoleProgress, progress_bar

    seen = []
    with ConsoleProgress(tmp_path / "p.log", "ch", 60.0, log=seen.append, every=0.0) as cp:
        assert Path(__import__("os").environ[ENV]) == cp.path
        bar = progress_bar(total=3, desc="runs", mininterval=0)
        for _ in range(3):
            bar.update(1)
        bar.close()
        lines = cp.path.read_text().splitlines()
        import time

        time.sleep(1.5)
    assert ENV not in __import__("os").environ
    assert lines and lines[-1].startswith("runs: 100%") and "3/3" in lines[-1]
    assert any("[ch " in m and "of ~60 s" in m and "3/3" in m for m in seen), seen


CHROMIUM = Path("/usr/bin/chromium")
# the headers of tables wider than the page's main column (a table scrolls sideways)
WIDER_THAN_PAGE = """() => {
  const main = document.querySelector('main').getBoundingClientRect().width;
  return Array.from(document.querySelectorAll('main table'))
    .filter(t => t.scrollWidth > main + 2)
    .map(t => t.innerText.slice(0, 60));
}"""


@pytest.mark.skipif(
    not CHROMIUM.exists() and not __import__("os").environ.get("CI"),
    reason="Debian chromium not installed (.ci/run installs it)",
)
def test_site_in_a_real_browser_from_disk_with_no_network(smoke_site):
    """Every chapter page in both languages, opened from disk with every non-file request
    aborted: images decode, math is typeset, captions speak the page's language, no code,
    progress bars or stderr are visible; glued numbers are present; twin links land."""
    from playwright.sync_api import sync_playwright

    root, _, _ = smoke_site
    html = root / "_build" / "html"
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    blocked = []

    def offline(route):
        if route.request.url.startswith("file://"):
            route.continue_()
        else:
            blocked.append(route.request.url)
            route.abort()

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
        page = browser.new_page()
        page.route("**/*", offline)
        page.set_viewport_size({"width": 1280, "height": 900})
        for lang, other, twin in (("zh", "Figure", "en"), ("en", "图", "zh")):
            for ch in CHAPTERS:
                resp = page.goto((html / lang / f"{ch}.html").as_uri())
                assert resp is not None and resp.ok
                page.wait_for_load_state("load")
                if ch != "claims":  # the ledger is a table, every chapter has figures
                    widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
                    assert widths and all(w > 0 for w in widths), (lang, ch, widths)
                    captions = page.locator(".caption-number").all_inner_texts()
                    assert captions and not any(other in c for c in captions), (lang, ch)
                body = page.inner_text("main")
                for junk in ("glue_value(", "import ", "it/s]", "%|", "Warning", "Traceback"):
                    assert junk not in body, (lang, ch, junk)
                assert page.locator("div.cell_input:visible").count() == 0, (lang, ch)
                assert page.locator("div.output.stderr").count() == 0, (lang, ch)
                wide = page.evaluate(WIDER_THAN_PAGE)
                assert wide == [], (lang, ch, wide)  # no table scrolls sideways at 1280 px
                chrome = page.inner_text(".prev-next-area") if ch != "claims" else ""
                foreign = ("上一页", "下一页") if lang == "en" else ("previous", "next")
                assert not any(w in chrome for w in foreign), (lang, ch, chrome)
                if lang == "zh":
                    assert "Show code cell" not in body, ch
            page.goto((html / lang / "models.html").as_uri())
            page.wait_for_function("document.querySelectorAll('mjx-container').length > 3")
            assert "\\(" not in page.inner_text("main")  # no raw TeX left
            page.goto((html / lang / "sweep.html").as_uri())
            pasted = page.locator(".pasted-text").all_inner_texts()
            assert len(pasted) >= 5 and any(t.strip().isdigit() for t in pasted)
            page.click(f'a[href="../{twin}/sweep.html"]')
            page.wait_for_load_state()
            assert page.url.endswith(f"/{twin}/sweep.html")
        browser.close()
    assert not [u for u in blocked if "mathjax" in u.lower()], blocked


def test_section_heading_goes_above_the_outputs_it_discusses():
    import nbformat

    from ptlab.book.split import language_notebook

    md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        md("# T"),
        md("Intro:"),
        code("table1"),
        md("## A\n\ntext A"),
        code("t2"),
        md("## B\n\ntext B"),
    ]
    rec = {"params": {"profile": "smoke"}, "profile": "smoke"}
    out = [c.source for c in language_notebook(nb, "en", "t", rec).cells[2:]]
    # "Intro:" introduces table1, so A's heading stays after it; B's heading moves above t2
    assert out == ["Intro:", "table1", "## A", "text A", "## B", "t2", "text B"]
