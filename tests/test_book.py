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


def test_cjk_font_has_chinese_glyphs(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib import font_manager

    from ptlab.book.plotting import CJK_FONT_FILE, setup_figures

    setup_figures()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font" would raise here
        fig, ax = plt.subplots()
        ax.set_title("训练损失 · 注意力头")
        fig.savefig(tmp_path / "zh.png")
        plt.close(fig)
    path = font_manager.findfont(font_manager.FontProperties(family=["sans-serif"]))
    assert path.endswith(CJK_FONT_FILE)


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


def test_smoke_build_from_clean_with_warnings_as_errors(tmp_path):
    root = copy_book(tmp_path)
    env = {**__import__("os").environ, "PTLAB_PROFILE": "smoke"}
    exe = str(Path(sys.executable).parent / "jupyter-book")
    jb = [exe, "build", "book", "-W", "--keep-going"]
    first = subprocess.run(jb, cwd=root, capture_output=True, text=True, env=env)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    assert first.stdout.count("executing chapter") == 5
    html = root / "_build" / "html"
    for lang in ("zh", "en"):
        page = (html / lang / "sweep.html").read_text()
        assert "np.float64" not in page and "<img" in page
        assert f'href="../{"en" if lang == "zh" else "zh"}/sweep.html"' in page
        for name in ("shap", "variance", "attribution"):  # figures, no raw numpy reprs
            page = (html / lang / f"{name}.html").read_text()
            assert "np.float64" not in page and page.count("<img") >= 2
    again = subprocess.run(jb, cwd=root, capture_output=True, text=True, env=env)
    assert again.returncode == 0 and "executing chapter" not in again.stdout
    # offline internal link check; linkchecker drops root privileges to `nobody`, so it reads
    # a world-readable copy (pytest's tmp root is private)
    import tempfile

    public = Path(tempfile.mkdtemp(prefix="ptlab-site-"))
    try:
        shutil.copytree(html, public / "html")
        subprocess.run(["chmod", "-R", "a+rX", str(public)], check=True)
        exe = str(Path(sys.executable).parent / "linkchecker")
        args = ["--no-status", "--no-warnings", "--ignore-url=^https?://"]
        lc = subprocess.run(
            [exe, *args, str(public / "html" / "index.html")], capture_output=True, text=True
        )
        assert lc.returncode == 0, lc.stdout[-2000:]
    finally:
        shutil.rmtree(public)


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.skipif(
    not CHROMIUM.exists() and not __import__("os").environ.get("CI"),
    reason="Debian chromium not installed (.ci/run installs it)",
)
def test_site_in_a_real_browser(tmp_path):
    """One chapter per language: the page loads, images decode, glued numbers are present,
    and the language link lands on the twin page."""
    import functools
    import http.server
    import threading

    from playwright.sync_api import sync_playwright

    root = copy_book(tmp_path)
    env = {**__import__("os").environ, "PTLAB_PROFILE": "smoke"}
    exe = str(Path(sys.executable).parent / "jupyter-book")
    r = subprocess.run([exe, "build", "book"], cwd=root, capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr[-2000:]
    handler = functools.partial(
        http.server.SimpleHTTPRequestHandler, directory=str(root / "_build" / "html")
    )
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    args = [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ]
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=args)
            page = browser.new_page()
            for lang, twin, glued in (("zh", "en", "个运行"), ("en", "zh", "runs")):
                resp = page.goto(f"{base}/{lang}/sweep.html")
                assert resp is not None and resp.ok
                widths = page.eval_on_selector_all("img", "els => els.map(e => e.naturalWidth)")
                assert widths and all(w > 0 for w in widths), widths
                pasted = page.locator(".pasted-text").all_inner_texts()
                assert len(pasted) >= 5 and any(t.strip().isdigit() for t in pasted)
                assert glued in page.inner_text("main")
                page.click(f'a[href="../{twin}/sweep.html"]')
                page.wait_for_load_state()
                assert page.url.endswith(f"/{twin}/sweep.html")
            browser.close()
    finally:
        server.shutdown()
