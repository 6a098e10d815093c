"""A student's feedback as one HTML page: their own notebook, rendered with nbconvert, annotated with the grade.

The page opens with the score table (task, points, status); under each task's cell (the cell whose definition
was graded, found as :mod:`grader.extract` finds definitions) come its checks, the diagnosis once, the first
failing case in full and the hidden cases folded (``<details>``). A task with no cell gets its section at the
end; so does every task when the notebook cannot be read (the page is then built from the report alone).

The notebook is hostile text: nothing of it may run in the reader's browser, and nothing may pass for the
grader's own words. So:

- only an allowlist is carried over into a new notebook: cell sources, stream and error text, text/plain,
  and base64 PNG/JPEG images; HTML, JavaScript, SVG, widget and every other output, every metadata
  (widget state included) and raw cells' markup are dropped (a raw cell is shown as text), and all text is
  made printable (grader.boundary: controls, bidi overrides, surrogates escaped; lengths bounded);
- nbconvert's ``basic`` template renders the cells: the classic template's body, which embeds no script;
- the rendered cells go through an allowlist (bleach, as nbconvert's ``SanitizeHTML`` does, but after the
  markdown is rendered: sanitizing markdown source escapes what its code spans then escape again): known
  tags, ``class``/``id``, links to http(s)/mailto/anchors, images only as data: PNG/JPEG; any other tag in a
  student's markdown (``<script>``, ``<style>``, ``<iframe>``) is shown as text; no ``on*`` attribute, no
  ``style``, no ``javascript:`` link;
- the page carries a Content-Security-Policy that forbids every script, and loads nothing from elsewhere.

The annotations are the grader's own HTML (student text in them escaped); they are put in place of markers
that the student cannot know (a random token per page) after nbconvert and the last allowlist ran.
"""

import base64
import binascii
import html
import json
import re
import secrets
import warnings
from pathlib import Path

from grader.boundary import FRAGMENT_LIMIT, printable, printable_block
from grader.discover import MAX_NOTEBOOK_BYTES, SubmissionError, open_notebook
from grader.render import _diagnoses, _failing_hidden, _untouched, points
from grader.report import Kind

SOURCE_LIMIT = 100_000  # characters of one cell's source shown: any real solution cell fits
SOURCE_LINES = 3000  # lines of one cell's source shown
OUTPUT_LIMIT = 16 * 1024  # characters of one output's text shown (a student's prints, a traceback)
OUTPUT_LINES = 200  # lines of one output's text shown
IMAGE_LIMIT = 4 << 20  # characters of one base64 image kept (a figure is ~50 KB): a page stays openable
IMAGE_TYPES = ("image/png", "image/jpeg")  # the only rich outputs kept: a data: image cannot run code
ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")  # terminal colours in tracebacks: dropped, not escaped
BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
RENDERED_TAGS = frozenset(
    "a abbr b blockquote br code del details div em h1 h2 h3 h4 h5 h6 hr i img li ol p pre s span strong sub "
    "summary sup table tbody td th thead tr ul".split()
)
LINK_SCHEMES = ("http:", "https:", "mailto:", "#")
STATUS_MARK = {"passed": "✓", "failed": "✗", "error": "✗", "timeout": "✗", "missing": "–"}


class Unreadable(Exception):
    """The notebook cannot be read for the feedback page (the page is then built from the report alone)."""


def page(student, graded, notebook_path=None, shown=lambda text: text):
    """The HTML feedback of one student: their notebook annotated when ``notebook_path`` can be read, else the
    report alone. graded: a run.Graded. shown: str -> str, what a path of the instructor's machine becomes."""
    report = graded.report
    title = f"Feedback for {_h(student)}"
    if report is None:
        body = f"<p class='not-graded'>Your submission was not graded: {_h(shown(graded.reason))}</p>\n"
        return _document(title, body)
    notebook, problem = None, ""
    if notebook_path is not None:
        try:
            notebook = read_notebook(notebook_path)
        except Unreadable as exc:
            problem = str(exc)
    sections = {task.id: _task_section(task, shown) for task in report.tasks}
    cells, placed = _annotated_cells(notebook, report, sections) if notebook is not None else ("", set())
    rest = [section for task_id, section in sections.items() if task_id not in placed]
    parts = [_score_table(report), *(f"<p class='note'>{_h(shown(note))}</p>\n" for note in report.notes)]
    if problem:
        parts.append(f"<p class='note'>Your notebook could not be shown here: {_h(shown(problem))}</p>\n")
    parts += [f"<main class='notebook'>\n{cells}</main>\n" if cells else ""]
    if rest:
        heading = "Tasks without a cell in your notebook" if cells else "Tasks"
        parts += [f"<section class='rest'><h2>{heading}</h2>\n", *rest, "</section>\n"]
    return _document(title, "".join(parts))


# -- The notebook, read and reduced to what is safe to show ----------------------------------------------


def read_notebook(path):
    """The student's notebook as a new nbformat notebook holding only what is safe to render (the module's
    docstring); raises :class:`Unreadable`."""
    import nbformat

    try:
        with open_notebook(path) as stream:
            content = stream.read(MAX_NOTEBOOK_BYTES + 1)
        if len(content) > MAX_NOTEBOOK_BYTES:
            raise Unreadable(f"it is larger than {MAX_NOTEBOOK_BYTES >> 20} MB")
        data = json.loads(content)
        if not isinstance(data, dict):
            raise Unreadable("it is not a notebook")
        _drop_metadata(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notebook = nbformat.reads(json.dumps(data), as_version=4)
    except SubmissionError as exc:
        raise Unreadable(str(exc)) from None
    except (ValueError, UnicodeDecodeError, RecursionError, TypeError) as exc:
        raise Unreadable(f"it is not a notebook nbformat can read ({type(exc).__name__})") from None
    except Exception as exc:  # nbformat raises many kinds for a broken file
        raise Unreadable(f"it is not a notebook nbformat can read ({type(exc).__name__})") from None
    return _clean(notebook)


def _drop_metadata(data):
    """Metadata (widget state, attachments' names, anything a template may print) is never shown."""
    data["metadata"] = {}
    cells = data.get("cells") if isinstance(data.get("cells"), list) else []
    for worksheet in data.get("worksheets", []) if isinstance(data.get("worksheets"), list) else []:
        cells = cells + (worksheet.get("cells", []) if isinstance(worksheet, dict) else [])
    for cell in cells:
        if isinstance(cell, dict):
            cell["metadata"] = {}


def _clean(notebook):
    """A new notebook of the allowlisted parts of ``notebook``, ids numbered (the page is reproducible)."""
    import nbformat.v4 as v4

    cells = []
    for cell in notebook.get("cells", []):
        source = _text(cell.get("source", ""), SOURCE_LIMIT, SOURCE_LINES)
        if cell.get("cell_type") == "code":
            cells.append(v4.new_code_cell(source, outputs=[o for o in map(_output, cell.get("outputs", [])) if o]))
        elif cell.get("cell_type") == "markdown":
            cells.append(v4.new_markdown_cell(_without_attachments(source)))
        else:  # a raw cell: its text, never its markup
            cells.append(v4.new_markdown_cell(_fenced(source)))
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"cell-{number}"
    return v4.new_notebook(cells=cells, metadata={"language_info": {"name": "python"}})


def _output(output):
    """The allowlisted part of one output, or None."""
    import nbformat.v4 as v4

    kind = output.get("output_type")
    if kind == "stream":
        name = "stderr" if output.get("name") == "stderr" else "stdout"
        return v4.new_output("stream", name=name, text=_text(output.get("text", ""), OUTPUT_LIMIT, OUTPUT_LINES))
    if kind == "error":
        traceback = "\n".join(str(line) for line in output.get("traceback", []) if isinstance(line, str))
        return v4.new_output(
            "error",
            ename=printable(output.get("ename", ""), FRAGMENT_LIMIT),
            evalue=printable(output.get("evalue", ""), FRAGMENT_LIMIT),
            traceback=[_text(traceback, OUTPUT_LIMIT, OUTPUT_LINES)],
        )
    if kind not in ("display_data", "execute_result"):
        return None
    data = output.get("data", {}) if isinstance(output.get("data"), dict) else {}
    kept = {mime: image for mime in IMAGE_TYPES if (image := _image(data.get(mime)))}
    if "text/plain" in data:
        kept["text/plain"] = _text(data["text/plain"], OUTPUT_LIMIT, OUTPUT_LINES)
    dropped = sorted(set(data) - set(kept) - {"text/plain", *IMAGE_TYPES})
    if not kept:
        if not dropped:
            return None
        kept["text/plain"] = printable(f"[an output of type {', '.join(dropped)} is not shown in feedback]")
    return v4.new_output("display_data", data=kept)


def _image(value):
    """A base64 image as nbformat holds it, or None when it is not plain base64 of a bounded size."""
    value = "".join(value) if isinstance(value, list) else value
    if not isinstance(value, str) or len(value) > IMAGE_LIMIT or not BASE64.fullmatch(value):
        return None
    value = "".join(value.split())
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return value


def _text(value, limit, lines):
    """Student text as safe lines: a list joined, terminal colours dropped, tabs expanded, made printable."""
    value = "".join(str(part) for part in value) if isinstance(value, list) else value
    text = value if isinstance(value, str) else ""
    return printable_block(ANSI.sub("", text).expandtabs(4), limit, lines)


def _without_attachments(source):
    """Markdown with ``attachment:`` images turned into plain links to nothing (attachments are dropped)."""
    return source.replace("attachment:", "#attachment-")


def _fenced(text):
    """``text`` as a fenced code block, its fence longer than any run of backticks in it."""
    fence = "`" * max(3, 1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    return f"{fence}text\n{text}\n{fence}"


# -- The cells rendered, with the tasks' sections under their cells --------------------------------------


def _annotated_cells(notebook, report, sections):
    """(the notebook's cells as sanitized HTML with each task's section after its cell, the ids placed)."""
    import nbformat.v4 as v4

    places = task_cells(notebook, [task.id for task in report.tasks])
    token = f"grader{secrets.token_hex(16)}"
    for task_id, index in sorted(places.items(), key=lambda item: -item[1]):
        marker = v4.new_raw_cell(f"{token}{task_id}", metadata={"raw_mimetype": "text/html"})
        marker["id"] = f"grade-{len(notebook.cells)}"
        notebook.cells.insert(index + 1, marker)
    rendered = _sanitized(_exported(notebook))
    for task_id in places:
        rendered = rendered.replace(f"{token}{task_id}", sections[task_id], 1)
    return rendered, set(places)


def task_cells(notebook, task_ids):
    """Task id -> index in ``notebook.cells`` of the code cell whose definition of the task is graded (the
    last one, a stub never overriding an implementation: grader.extract's rule); tasks without one left out."""
    from assignment.tasks import TABLE
    from grader.discover import Notebook
    from grader.extract import cell_filename, extract

    code = [index for index, cell in enumerate(notebook.cells) if cell.cell_type == "code"]
    parsed = Notebook(path=Path("notebook.ipynb"), code_cells=tuple(notebook.cells[i].source for i in code))
    index_of = {cell_filename(parsed, n): code[n] for n in range(len(code))}
    defined = {}
    for cell in extract([parsed]).cells:
        for _, _, names in cell["statements"]:
            defined.update(dict.fromkeys(names, index_of[cell["filename"]]))
    wanted = {task_id: TABLE[task_id].definition for task_id in task_ids if task_id in TABLE}
    return {task_id: defined[name] for task_id, name in wanted.items() if name in defined}


def _exported(notebook):
    """The cells as HTML: nbconvert's ``basic`` template (the classic body, no script), prompts left out."""
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(template_name="basic", exclude_input_prompt=True, exclude_output_prompt=True)
    body, _ = exporter.from_notebook_node(notebook)
    return body


def _sanitized(fragment):
    """The rendered cells through the last allowlist (the module's docstring)."""
    import bleach

    return bleach.clean(
        fragment,
        tags=RENDERED_TAGS,
        attributes=_allowed_attribute,
        protocols=["http", "https", "mailto", "data"],
        strip=False,
        strip_comments=True,
    )


def _allowed_attribute(tag, name, value):
    if name in ("class", "id"):
        return True
    if tag == "a" and name == "href":
        return value.startswith(LINK_SCHEMES)
    if tag == "img" and name == "src":
        return value.startswith(tuple(f"data:{mime};base64," for mime in IMAGE_TYPES))
    return tag == "img" and name in ("alt", "width", "height") or tag in ("td", "th") and name == "colspan"


# -- The grader's own HTML ---------------------------------------------------------------------------------


def _score_table(report):
    rows = "".join(
        f"<tr class='{_status_class(task.status)}'><td><a href='#grade-{_h(task.id)}'>{_h(task.id)}</a></td>"
        f"<td class='points'>{points(task.score, task.max_score)}</td>"
        f"<td>{STATUS_MARK.get(task.status, '')} {_h(task.status)}</td></tr>\n"
        for task in report.tasks
    )
    return (
        "<table class='scores'><thead><tr><th>task</th><th>points</th><th>status</th></tr></thead>\n"
        f"<tbody>\n{rows}</tbody>\n<tfoot><tr><th>total</th>"
        f"<th class='points'>{points(report.score, report.max_score)}</th><th></th></tr></tfoot></table>\n"
    )


def _task_section(task, shown):
    """A task's checks: the diagnosis once, the failed checks with their messages (the first failing hidden
    case in full), every hidden case folded."""
    head = (
        f"<section class='grade {_status_class(task.status)}' id='grade-{_h(task.id)}'>\n"
        f"<h3>{_h(task.id)}: {points(task.score, task.max_score)} <span class='status'>{_h(task.status)}</span></h3>\n"
    )
    if _untouched(task):
        return head + f"<p>{_h(shown(task.checks[0].message))}: all {len(task.checks)} checks failed.</p>\n</section>\n"
    parts = [head]
    parts += [f"<p class='diagnosis'><strong>Diagnosis:</strong> {_h(d)}</p>\n" for d in _diagnoses(task.checks)]
    hidden = [check for check in task.checks if check.kind == Kind.HIDDEN]
    first = next(iter(_failing_hidden(task.checks)), None)
    shown_checks = [check for check in task.checks if check.kind != Kind.HIDDEN or check is first]
    if not any(not check.passed for check in task.checks):
        parts.append(f"<p>All {len(task.checks)} checks passed.</p>\n")
    parts.append("<ul class='checks'>\n" + "".join(_check_item(c, shown) for c in shown_checks) + "</ul>\n")
    if hidden:
        failed = sum(not check.passed for check in hidden)
        parts.append(
            f"<details><summary>Hidden cases: {len(hidden) - failed} of {len(hidden)} passed</summary>\n"
            "<ul class='checks'>\n" + "".join(_check_item(c, shown) for c in hidden) + "</ul>\n</details>\n"
        )
    return "".join(parts + ["</section>\n"])


def _check_item(check, shown):
    mark, kind = ("✓", "pass") if check.passed else ("✗", "fail")
    item = f"<li class='{kind}'>{mark} {_h(check.name)} <span class='points'>({points(check.score, check.max_score)})</span>"
    if not check.passed:
        item += f"<pre>{_h_block(shown(check.message))}</pre>"
    return item + "</li>\n"


def _status_class(status):
    return "passed" if status == "passed" else "failed"


def _document(title, body):
    from pygments.formatters import HtmlFormatter

    code_style = HtmlFormatter(style="default").get_style_defs(".highlight")
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>\n"
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">\n'
        "<meta name='viewport' content='width=device-width, initial-scale=1'>\n"
        f"<title>{title}</title>\n<style>\n{STYLE}\n{code_style}\n</style></head>\n"
        f"<body>\n<h1>{title}</h1>\n{body}</body></html>\n"
    )


def _h(text):
    return html.escape(printable(text))


def _h_block(text):
    return html.escape(printable_block(text))


STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       max-width: 980px; margin: 2em auto; padding: 0 1.5em; }
h1 { font-size: 1.6em; border-bottom: 1px solid #d0d7de; padding-bottom: .3em; }
pre, code { font: 13px/1.45 ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: .3em 0; }
table.scores { border-collapse: collapse; margin: 1em 0 2em; min-width: 60%; }
table.scores th, table.scores td { border: 1px solid #d0d7de; padding: .35em .8em; text-align: left; }
table.scores thead th, table.scores tfoot th { background: #f6f8fa; }
table.scores .points { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.scores tr.failed td:last-child { color: #b42318; }
table.scores tr.passed td:last-child { color: #1a7f37; }
.note, .not-graded { background: #fff8c5; border: 1px solid #d4a72c; padding: .5em .8em; border-radius: 6px; }
.cell { margin: 1em 0; }
.input_area, .highlight { background: #f6f8fa; border: 1px solid #d0d7de; border-radius: 6px; padding: .2em .8em; }
.input_area .highlight { border: 0; padding: 0; }
.output_area pre, .output_subarea pre { background: #fff; border-left: 3px solid #d0d7de; padding: .2em .8em; }
.output_stderr pre { background: #fff0f0; }
.output_png img, .output_jpeg img { max-width: 100%; height: auto; }
.text_cell_render { padding: 0 .2em; }
.text_cell_render table { border-collapse: collapse; }
.text_cell_render td, .text_cell_render th { border: 1px solid #d0d7de; padding: .2em .5em; }
.anchor-link { display: none; }
section.grade { border: 1px solid #d0d7de; border-left: 6px solid #1a7f37; border-radius: 6px;
                padding: .4em 1em .8em; margin: 1em 0 2em; background: #f6fff8; }
section.grade.failed { border-left-color: #b42318; background: #fff8f7; }
section.grade h3 { margin: .3em 0; }
section.grade .status { font-weight: normal; color: #57606a; }
.diagnosis { background: #ddf4ff; border: 1px solid #54aeff; border-radius: 6px; padding: .4em .8em; }
ul.checks { list-style: none; padding-left: .2em; }
ul.checks li { margin: .25em 0; }
ul.checks li.pass { color: #1a7f37; }
ul.checks li.fail { color: #b42318; }
ul.checks li pre { color: #1f2328; background: #fff; border: 1px solid #d0d7de; border-radius: 4px; padding: .4em .6em; }
ul.checks .points { color: #57606a; }
details { margin: .5em 0; }
summary { cursor: pointer; font-weight: 600; }
"""
