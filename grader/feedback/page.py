"""The feedback page (`--format html`): the annotated notebook rendered by nbconvert's HTML exporter, one file.

nbconvert's JupyterLab cell markup with a small stylesheet of our own instead of JupyterLab's
(≈270 KB a page, for a class of a thousand pages): the grader's cells framed as feedback, the
lines they point at highlighted in the student's code. Nothing is fetched and no script runs: the
page holds no script and no address to load (MathJax and require.js are left out, so the math
stays as LaTeX, next to the plain-text formula of the explanation), and its Content-Security-
Policy forbids both anyway, so a student's own HTML output can neither run code in the reader's
browser nor call anywhere. That HTML, and the student's Markdown, go through an allow-list of
harmless tags (bleach, which nbconvert uses for this); the grader's own cells do not need it.

nbconvert is imported on the first page, never on the path of a plain `grade one.ipynb`.
"""
from __future__ import annotations

import functools
import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from grader.feedback.notebook import MARKER, annotate, notebook_text
from grader.feedback.registry import renderer
from grader.records import SubmissionResult

POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; font-src data:; form-action 'none'; "
          "base-uri 'none'")
"""The page's Content-Security-Policy: inline styles and data: images only: no script, no fetch."""
_LINE_KEY = "grader_lines"  # metadata of a student's cell in the page's copy only: the lines to highlight
_DISPLAY_PRIORITY = ["text/html", "text/markdown", "image/svg+xml", "text/latex", "image/png", "image/jpeg",
                     "text/plain"]  # nbconvert's, less JavaScript and widgets: nothing here may run
_MATH = re.compile(r"^\$\$(.+)\$\$$", re.MULTILINE)
_TAGS = ["a", "abbr", "b", "blockquote", "br", "caption", "code", "col", "colgroup", "dd", "del", "details", "div",
         "dl", "dt", "em", "figcaption", "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd",
         "li", "mark", "ol", "p", "pre", "q", "s", "samp", "small", "span", "strong", "sub", "summary", "sup", "table",
         "tbody", "td", "tfoot", "th", "thead", "tr", "tt", "u", "ul"]
_ATTRIBUTES = {"*": ["class", "id", "title", "align"], "a": ["href", "title"], "img": ["src", "alt", "width", "height"],
               "td": ["colspan", "rowspan"], "th": ["colspan", "rowspan"]}
_TEMPLATE = """{%- extends 'base.html.j2' -%}
{%- block header -%}
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{{ resources.grader_policy }}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{ resources.grader_title }}</title>
<style>{{ resources.grader_css }}</style>
</head>
{%- endblock header -%}
{%- block body_header -%}<body class="jp-Notebook"><main>{%- endblock body_header -%}
{%- block body_footer -%}</main></body>{%- endblock body_footer -%}
{%- block footer -%}</html>{%- endblock footer -%}
{% block input %}
<div class="jp-InputArea-editor">{{ cell.source | grader_highlight(cell.metadata) }}</div>
{%- endblock input %}
{% block markdowncell scoped %}
{%- set ours = cell.metadata.get('grader', {}).get('feedback') == True -%}
<div class="jp-Cell jp-MarkdownCell jp-Notebook-cell
{%- if ours %} grader-feedback grader-{{ cell.metadata.grader.kind }}{% endif %}">
<div class="jp-RenderedHTMLCommon jp-RenderedMarkdown jp-MarkdownOutput">
{%- if ours -%}{{ cell.source | markdown2html }}{%- else -%}{{ cell.source | markdown2html | clean_html }}{%- endif -%}
</div>
</div>
{%- endblock markdowncell %}
"""
_CSS = """body{font:15px/1.5 system-ui,sans-serif;color:#212121;max-width:62rem;margin:1.5rem auto;padding:0 1rem}
.jp-Cell{margin:.5rem 0}.jp-InputArea,.jp-OutputArea-child{display:flex}.jp-Collapser,.anchor-link{display:none}
.jp-InputPrompt,.jp-OutputPrompt{flex:0 0 5.5rem;font:12px/1.9 monospace;color:#307fc1;text-align:right;
padding-right:.6em}.jp-OutputPrompt{color:#bf5b3d}
.jp-InputArea-editor{flex:1;min-width:0;background:#f7f7f7;border:1px solid #e0e0e0;border-radius:3px}
.jp-InputArea-editor pre,.jp-OutputArea-output pre{margin:0;padding:.35em .6em;overflow-x:auto;
font:13px/1.45 ui-monospace,monospace}.jp-OutputArea-output{flex:1;min-width:0;overflow-x:auto}
.jp-OutputArea-output pre{white-space:pre-wrap}.jp-RenderedText[data-mime-type$=stderr]{background:#fdd}
.jp-OutputArea-output img{max-width:100%}.jp-MarkdownCell{padding-left:6.1rem}
.jp-RenderedMarkdown img{max-width:100%}table{border-collapse:collapse}td,th{padding:.15em .6em;
border:1px solid #ddd}.highlight .hll{background:#ffd54f;box-shadow:-.6em 0 0 #ffd54f,.6em 0 0 #ffd54f}
.grader-feedback{margin-left:6.1rem;padding:.3em 1em;border-left:6px solid #c62828;background:#fff4f2;
border-radius:3px}.grader-summary{border-left-color:#1565c0;background:#f1f6fd}
.grader-feedback h2,.grader-feedback h4{margin:.5em 0 .3em}.grader-feedback pre{background:#fff;padding:.3em .6em;
border:1px solid #eee;overflow-x:auto}.grader-feedback .math{font-family:ui-monospace,monospace;color:#37474f}
"""


@renderer("html", ".html", "the annotated notebook as one self-contained HTML page (no scripts, nothing fetched)")
def render_html(result: SubmissionResult, version: str, colour: bool = False) -> str:
    """The feedback page of one submission."""
    import nbformat

    annotated = annotate(result)
    notebook = nbformat.reads(notebook_text(annotated.document), as_version=4)  # cell sources joined, for nbconvert
    for index, cell in enumerate(notebook.cells):
        if cell.get("metadata", {}).get(MARKER, {}).get("feedback") is True:
            # MathJax is not in the page: the formula shows as LaTeX, set apart from the prose.
            cell.source = _MATH.sub(lambda match: f'<p class="math">{html.escape(match[1])}</p>', cell.source)
        elif index in annotated.lines:
            cell.metadata[_LINE_KEY] = list(annotated.lines[index])
    title = f"Feedback: {result.assignment_title} — {Path(result.path).name}"
    page, _ = _exporter().from_notebook_node(notebook, resources={
        "grader_policy": POLICY, "grader_title": title, "grader_css": _CSS + _pygments_css(),
        "metadata": {"name": Path(result.path).stem}})
    return page


@functools.cache
def _exporter() -> Any:
    """One exporter per process: nbconvert compiles its templates once."""
    from jinja2 import DictLoader
    from nbconvert import HTMLExporter, TemplateExporter
    from traitlets.config import Config

    class PageExporter(HTMLExporter):
        """nbconvert's HTML exporter without its pass of BeautifulSoup over the finished page (which gives images
        without one an alt text saying there is none, and outputs a tab stop): half of a page's time, in a batch."""

        def from_notebook_node(self, nb: Any, resources: Any = None, **kw: Any) -> Any:
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    config = Config({"NbConvertBase": {"display_data_priority": _DISPLAY_PRIORITY}})
    exporter = PageExporter(config=config, template_name="lab", template_file="grader.html.j2",
                            extra_loaders=[DictLoader({"grader.html.j2": _TEMPLATE})], sanitize_html=True,
                            exclude_anchor_links=True)
    exporter.register_filter("clean_html", _clean_html)
    exporter.register_filter("grader_highlight", _highlight)
    # HTMLExporter registers this one per page; our template does not use it, but the lab template names it.
    exporter.register_filter("highlight_code", lambda source, metadata=None, **_: _highlight(source, metadata or {}))
    return exporter


def _clean_html(text: str) -> str:
    """A student's HTML with only harmless tags kept as tags (the rest shown as text); data: images allowed."""
    import bleach

    return bleach.clean(str(text), tags=_TAGS, attributes=_ATTRIBUTES,
                        protocols=["http", "https", "mailto", "data"], strip_comments=True)


def _highlight(source: str, metadata: Any) -> str:
    """A code cell's source coloured by Pygments, the lines a finding points at highlighted."""
    from pygments import highlight
    from pygments.formatters import HtmlFormatter
    from pygments.lexers import PythonLexer

    lines: Sequence[int] = metadata.get(_LINE_KEY, []) if hasattr(metadata, "get") else []
    return highlight(source or " ", PythonLexer(), HtmlFormatter(cssclass="highlight", hl_lines=list(lines)))


@functools.cache
def _pygments_css() -> str:
    from pygments.formatters import HtmlFormatter

    return HtmlFormatter(style="default").get_style_defs(".highlight") + "\n.highlight .err{border:none}"
