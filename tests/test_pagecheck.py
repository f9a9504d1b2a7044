"""The page check finds what a reader must never see, and passes a clean page."""

import pytest

from ptlab.book.pagecheck import check_page

CLEAN = """<html><body><main>
<h1>Title</h1>
<p>The loss is <span class="pasted-text">2.05</span> nats per byte, <strong>bold</strong>,
and <span class="math notranslate nohighlight">\\(2^{10-3}\\)</span>.</p>
<ul><li>a real list</li><li><p>笔记的结论：</p>
<ul><li>打开开关 1 使损失下降。</li>
<li>开关 3 作用相反。</li></ul></li></ul>
<p>复制到 <code>transformers</code> 的
<code>LlamaForCausalLM</code> 中，记 <span class="math">\\(h\\)</span>
为残差流。</p>
<table><tr><th>variant</th><th>Δ</th></tr><tr><td>v2_m3</td><td>−0.0123</td></tr></table>
<img src="../_images/fig.png" alt="Validation loss of every variant against the baseline">
<div class="cell_input"><pre>x = float("nan")  # **kwargs</pre></div>
</main></body></html>"""


def test_a_clean_page_has_no_problems():
    assert check_page(CLEAN) == []


@pytest.mark.parametrize(
    "fragment, problem",
    [
        (
            "<p>&lt;IPython.core.display.Markdown object&gt;</p>",
            "placeholder 'IPython.core.display'",
        ),
        ("<p>at <span>object at 0x7f</span></p>", "placeholder 'object at 0x'"),
        ("<p>**本书对应章节：**暂无</p>", "raw ** in <p>"),
        ("<p>- first item - second item</p>", "a list rendered as a paragraph"),
        ("<p>see {ref}`notes &lt;x&gt;`</p>", "raw role in <p>"),
        ("<p>a design of $2^{10-3}$ runs</p>", "unrendered $…$ math"),
        ("<p>the ratio is nan here</p>", "nan in <p>"),
        ("<p>判定所依据的区间，\n以及作出判定的章节</p>", "a line break between Chinese"),
        ("<table><tr><td>a</td><td>NaN</td></tr></table>", "nan in <td>"),
        (
            "<table><tr>" + "<td>1</td>" * 9 + "</tr></table>",
            "table with 9 columns",
        ),
        ('<img src="a.png" alt="../_build/jupyter_execute/fig.png">', "image without descriptive"),
        ('<img src="a.png">', "image without descriptive"),
        ('<img src="a.png" alt="_images/0f3a.png">', "image without descriptive"),
    ],
)
def test_each_kind_of_defect_is_found(fragment, problem):
    html = CLEAN.replace("</main>", fragment + "</main>")
    found = check_page(html)
    assert any(problem in p for p in found), found


def test_a_slash_inside_a_sentence_is_a_description_not_a_path():
    alts = ("Loss with each switch on/off, one panel per switch", "边数比（稀疏/稠密）及其区间")
    for alt in alts:
        html = CLEAN.replace("</main>", f'<img src="a.png" alt="{alt}"></main>')
        assert check_page(html) == []


def test_the_book_joins_chinese_lines_but_not_others():
    from ptlab.book.sphinx_ext import join_cjk_lines

    assert join_cjk_lines("判定所依据的区间，\n以及作出") == "判定所依据的区间，以及作出"
    assert join_cjk_lines("筛选的\n1 倍") == "筛选的\n1 倍"  # CJK beside a digit keeps its space
    assert join_cjk_lines("two\nwords") == "two\nwords"


def test_a_soft_break_between_chinese_siblings_is_dropped():
    from docutils import nodes

    from ptlab.book.sphinx_ext import join_cjk_breaks

    para = nodes.paragraph()
    link = nodes.reference(text="Wu & Tu")
    para += [nodes.Text("（PT，"), nodes.Text("\n"), link, nodes.Text("），")]
    para += [nodes.Text("拉宽了损失分布，"), nodes.Text("\n"), nodes.Text("因此它")]
    para += [nodes.Text("\n"), nodes.Text(""), nodes.strong(text="支持")]
    para += [nodes.Text("\n"), nodes.Text("and")]
    code = nodes.literal_block(text="甲\n乙")
    join_cjk_breaks(nodes.container("", para, code))
    # the first soft break (before a Latin link) stays; the equal later ones go
    assert para.astext() == "（PT，\nWu & Tu），拉宽了损失分布，因此它支持\nand"
    assert code.astext() == "甲\n乙"
