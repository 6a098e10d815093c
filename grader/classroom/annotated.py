"""A student's feedback as one HTML page: their own notebook, rendered with nbconvert, annotated with the grade.

The page opens with the score table (task, points, status); under each task's cell (the cell whose definition
was graded, found as :mod:`grader.extract` finds definitions) come its checks, the diagnosis once, the first
failing case in full and the hidden cases folded (``<details>``). A task with no cell gets its section at the
end; so does every task when the notebook cannot be read (the page is then built from the report alone).

The notebook is hostile text: nothing of it may run in the reader's browser, and nothing may pass for the
grader's own words. So:

- only an allowlist is carried over into a new notebook, each field type-checked (a field of the wrong type
  is dropped, never a crash): cell sources, stream and error text, text/plain, and base64 PNG/JPEG images;
  HTML, JavaScript, SVG, widget and every other output, every metadata (widget state included) and raw
  cells' markup are dropped (a raw cell is shown as text), and all text is made printable
  (grader.boundary: controls, bidi overrides, surrogates escaped; lengths bounded);
- Markdown is parsed only within bounds (MAX_MARKDOWN_CELL, MAX_MARKDOWN_TOTAL): mistune and bleach take
  quadratic time on nested brackets or tags, so a longer cell is shown as preformatted text;
- nbconvert's ``basic`` template renders the cells: the classic template's body, which embeds no script;
- each cell's HTML goes through an allowlist on its own (bleach, as nbconvert's ``SanitizeHTML`` does, but
  after the markdown is rendered: sanitizing markdown source escapes what its code spans then escape
  again), so whatever a cell opens is closed inside it and its stray closing tags are dropped: known tags,
  links to http(s)/mailto/anchors, images only as data: PNG/JPEG; any other tag in a student's markdown
  (``<script>``, ``<style>``, ``<iframe>``) is shown as text; no ``on*`` attribute, no ``style``, no
  ``javascript:`` link; of ``class`` only the code highlighting's and the cell layout's names
  (NOTEBOOK_CLASSES), every ``id`` and in-page link prefixed with ``nb-`` (a heading ``# grade-x`` cannot
  catch the score table's links);
- the page carries a Content-Security-Policy that forbids every script, and loads nothing from elsewhere.

The annotations are the grader's own HTML (student text in them escaped), joined with the sanitized cells
after the allowlist ran; they carry ``data-grader``, which the allowlist never lets through, and the grader's
stylesheet selects on it. The notebook's cells sit in frames labelled "from your notebook".
"""

import base64
import binascii
import functools
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
MAX_MARKDOWN_CELL = 5_000  # characters of one markdown cell parsed: quadratic cases take ~0.2 s at this size
MAX_MARKDOWN_TOTAL = 60_000  # characters of Markdown parsed per notebook (the assignment's own: 18k): ~2.5 s worst
MAX_HIGHLIGHTED_CODE = 50_000  # characters of code highlighted per notebook (a solution: ~23k): ~6 s per 100k
MAX_SHOWN_TOTAL = 500_000  # characters of a notebook's text shown (sources, outputs): ~5 s per 1M of markup
MAX_IMAGES_TOTAL = 16 << 20  # characters of base64 images shown per notebook (~300 figures): ~0.2 s per 1M
CSP = "default-src 'none'; img-src data:; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'"
RENDERED_TAGS = frozenset(
    "a abbr b blockquote br code del details div em h1 h2 h3 h4 h5 h6 hr i img li ol p pre s span strong sub "
    "summary sup table tbody td th thead tr ul".split()
)
LINK_SCHEMES = ("http:", "https:", "mailto:", "#")
STUDENT_ID_PREFIX = "nb-"  # every id of a student's and in-page link to one: none can be a grader's ("grade-")
NOTEBOOK_CLASSES = frozenset(
    "input_area highlight output_area output_stderr anchor-link".split()
)  # the cell layout's classes the stylesheet uses; with the code highlighting's, the only ones a cell keeps
STATUS_MARK = {"passed": "✓", "failed": "✗", "error": "✗", "timeout": "✗", "missing": "–"}


class Unreadable(Exception):
    """The notebook cannot be read for the feedback page (the page is then built from the report alone)."""


def page(student, graded, notebook_path=None, shown=lambda text: text):
    """The HTML feedback of one student: their notebook annotated when ``notebook_path`` can be read, else the
    report alone. graded: a run.Graded. shown: str -> str, what a path of the instructor's machine becomes."""
    report = graded.report
    title = f"Feedback for {_h(student)}"
    if report is None:
        body = f"<p class='not-graded' data-grader>Your submission was not graded: {_h(shown(graded.reason))}</p>\n"
        return _document(title, body)
    sections = {task.id: _task_section(task, shown) for task in report.tasks}
    cells, placed, problem = "", set(), ""
    if notebook_path is not None:
        try:
            cells, placed = _annotated_cells(read_notebook(notebook_path), report, sections)
        except Unreadable as exc:
            problem = str(exc)
        except Exception as exc:  # a notebook the renderers choke on: the page of the report, never a crash
            problem = f"it could not be rendered ({type(exc).__name__})"
    rest = [section for task_id, section in sections.items() if task_id not in placed]
    notes = [*report.notes, *([f"Your notebook could not be shown here: {problem}"] if problem else [])]
    parts = [_score_table(report), *(f"<p class='note' data-grader>{_h(shown(note))}</p>\n" for note in notes)]
    parts += [f"<main class='notebook'>\n{cells}</main>\n" if cells else ""]
    if rest:
        heading = "Tasks without a cell in your notebook" if cells else "Tasks"
        parts += [f"<section class='rest' data-grader><h2>{heading}</h2>\n", *rest, "</section>\n"]
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
            return _clean(nbformat.reads(json.dumps(data), as_version=4))
    except Unreadable:
        raise
    except SubmissionError as exc:
        raise Unreadable(str(exc)) from None
    except Exception as exc:  # nbformat raises many kinds for a broken file
        raise Unreadable(f"it is not a notebook nbformat can read ({type(exc).__name__})") from None


def _drop_metadata(data):
    """Metadata (widget state, attachments' names, anything a template may print) is never shown."""
    data["metadata"] = {}
    cells = _dicts(data.get("cells"))
    for worksheet in _dicts(data.get("worksheets")):
        cells += _dicts(worksheet.get("cells"))
    for cell in cells:
        cell["metadata"] = {}


def _clean(notebook):
    """A new notebook of the allowlisted parts of ``notebook``, every field type-checked."""
    import nbformat.v4 as v4

    cells = []
    for cell in _dicts(notebook.get("cells")):
        source = _text(cell.get("source", ""), SOURCE_LIMIT, SOURCE_LINES)
        if cell.get("cell_type") == "code":
            outputs = [output for output in map(_output, _dicts(cell.get("outputs"))) if output]
            cells.append(v4.new_code_cell(source, outputs=outputs))
        elif cell.get("cell_type") == "markdown":
            cells.append(v4.new_markdown_cell(_without_attachments(source)))
        else:  # a raw cell: its text, never its markup
            cells.append(_text_cell(source))
    # ipython3: the lexer that lets a cell's metadata ask for plain text (_bounded)
    return v4.new_notebook(cells=cells, metadata={"language_info": {"name": "python", "pygments_lexer": "ipython3"}})


def _text_cell(text):
    """A cell that shows ``text`` as preformatted text, nothing of it parsed."""
    import nbformat.v4 as v4

    return v4.new_raw_cell(f"<pre>{html.escape(text)}</pre>", metadata={"raw_mimetype": "text/html"})


def _bounded(cells):
    """The cells as they are rendered in bounded time (the parsers are quadratic on hostile input, the
    allowlist slow on highlighted code): Markdown past MAX_MARKDOWN_CELL or MAX_MARKDOWN_TOTAL shown as
    text, code past MAX_HIGHLIGHTED_CODE not highlighted, cells past MAX_SHOWN_TOTAL or MAX_IMAGES_TOTAL left
    out (a line says so)."""
    markdown, code, bounded = MAX_MARKDOWN_TOTAL, MAX_HIGHLIGHTED_CODE, []
    shown, images = MAX_SHOWN_TOTAL, MAX_IMAGES_TOTAL
    for cell in cells:
        data = [output.get("data", {}) for output in cell.get("outputs", ())]
        images -= sum(len(value) for mimes in data for mime, value in mimes.items() if mime in IMAGE_TYPES)
        shown -= len(cell.source) + sum(
            len(json.dumps(output)) for output in cell.get("outputs", ()) if "data" not in output
        )
        shown -= sum(len(mimes.get("text/plain", "")) for mimes in data)
        if shown < 0 or images < 0:
            bounded.append(_text_cell("[not shown: the page shows a bounded part of a notebook]"))
        elif cell.cell_type == "markdown" and len(cell.source) > min(MAX_MARKDOWN_CELL, markdown):
            bounded.append(_text_cell(cell.source))
        else:
            markdown -= len(cell.source) if cell.cell_type == "markdown" else 0
            if cell.cell_type == "code" and (code := code - len(cell.source)) < 0:
                cell.metadata["magics_language"] = "text"
            bounded.append(cell)
    return bounded


def _output(output):
    """The allowlisted part of one output, or None."""
    import nbformat.v4 as v4

    kind = output.get("output_type")
    if kind == "stream":
        name = "stderr" if output.get("name") == "stderr" else "stdout"
        return v4.new_output("stream", name=name, text=_text(output.get("text", ""), OUTPUT_LIMIT, OUTPUT_LINES))
    if kind == "error":
        lines = output.get("traceback")
        traceback = "\n".join(lines) if isinstance(lines, list) and all(isinstance(x, str) for x in lines) else ""
        return v4.new_output(
            "error",
            ename=printable(_string(output.get("ename")), FRAGMENT_LIMIT),
            evalue=printable(_string(output.get("evalue")), FRAGMENT_LIMIT),
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
    value = _string(value)
    if len(value) > IMAGE_LIMIT or not BASE64.fullmatch(value):
        return None
    value = "".join(value.split())
    try:
        base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return value or None


def _text(value, limit, lines):
    """Student text as safe lines: a list joined, terminal colours dropped, tabs expanded, made printable."""
    return printable_block(ANSI.sub("", _string(value)).expandtabs(4), limit, lines)


def _string(value):
    """A notebook's text field (a str, or a list of str joined); '' for anything else."""
    if isinstance(value, list) and all(isinstance(part, str) for part in value):
        return "".join(value)
    return value if isinstance(value, str) else ""


def _dicts(value):
    """The dicts of a notebook's list field (cells, outputs); nothing for anything else."""
    return [item for item in value if isinstance(item, dict)] if isinstance(value, list) else []


def _without_attachments(source):
    """Markdown with ``attachment:`` images turned into plain links to nothing (attachments are dropped)."""
    return source.replace("attachment:", "#attachment-")


# -- The cells rendered, with the tasks' sections under their cells --------------------------------------


def _annotated_cells(notebook, report, sections):
    """(the notebook's cells as sanitized HTML with each task's section after its cell, the ids placed).

    The notebook is exported once with a marker (a random token, which no student can know) after each cell;
    the HTML between two markers is one cell's, sanitized on its own, so nothing a cell opens reaches past it.
    Runs of cells between the grader's sections are framed as the notebook's."""
    places = task_cells(notebook, [task.id for task in report.tasks])
    under = {index: [task_id for task_id in sections if places.get(task_id) == index] for index in places.values()}
    token = f"grader{secrets.token_hex(16)}"
    pieces = _exported(_with_markers(notebook, token)).split(token)
    cleaner, parts, framed = _cleaner(), [], False
    for index, piece in enumerate(pieces):
        cell = cleaner.clean(piece)
        if cell.strip():
            parts.append("" if framed else "<div class='from-notebook'>\n")
            parts.append(f"<div class='notebook-cell'>{cell}</div>\n")
            framed = True
        if index in under:
            parts.append("</div>\n" if framed else "")
            parts += [sections[task_id] for task_id in under[index]]
            framed = False
    return "".join(parts + ["</div>\n" if framed else ""]), set(places)


def _with_markers(notebook, token):
    """``notebook``'s cells bounded, a raw cell holding ``token`` after each, every cell's id numbered."""
    import nbformat.v4 as v4

    cells = []
    for cell in _bounded(notebook.cells):
        cells += [cell, v4.new_raw_cell(token, metadata={"raw_mimetype": "text/html"})]
    for number, cell in enumerate(cells, start=1):
        cell["id"] = f"cell-{number}"
    return v4.new_notebook(cells=cells, metadata=notebook.metadata)


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


def _cleaner():
    """The last allowlist (the module's docstring), for one cell's HTML at a time: bleach.Cleaner.clean."""
    from bleach.sanitizer import Cleaner

    return Cleaner(
        tags=RENDERED_TAGS,
        attributes=_allowed_attribute,
        protocols=["http", "https", "mailto", "data"],
        strip=False,
        strip_comments=True,
        filters=[_student_names_filter()],
    )


def _code_classes():
    from pygments.token import STANDARD_TYPES

    return frozenset(STANDARD_TYPES.values()) - {""}


@functools.cache
def _student_names_filter():
    """An html5lib filter (after bleach's) that keeps only NOTEBOOK_CLASSES and the highlighting's classes,
    and prefixes every id and in-page link with STUDENT_ID_PREFIX."""
    from bleach.html5lib_shim import Filter

    kept = NOTEBOOK_CLASSES | _code_classes()

    class StudentNames(Filter):
        def __iter__(self):
            for token in super().__iter__():
                if token["type"] in ("StartTag", "EmptyTag") and token["data"]:
                    token["data"] = _renamed(token["data"], kept)
                yield token

    return StudentNames


def _renamed(attributes, kept):
    """html5lib attributes ({(namespace, name): value}) with classes filtered and ids prefixed."""
    renamed = {}
    for key, value in attributes.items():
        name = key[1]
        if name == "class":
            value = " ".join(word for word in value.split() if word in kept)
        elif name == "id" or name == "href" and value.startswith("#"):
            value = value.replace("#", "#" + STUDENT_ID_PREFIX, 1) if name == "href" else STUDENT_ID_PREFIX + value
        if value or name != "class":
            renamed[key] = value
    return renamed


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
        "<div data-grader><table class='scores'><thead><tr><th>task</th><th>points</th><th>status</th></tr></thead>\n"
        f"<tbody>\n{rows}</tbody>\n<tfoot><tr><th>total</th>"
        f"<th class='points'>{points(report.score, report.max_score)}</th><th></th></tr></tfoot></table></div>\n"
    )


def _task_section(task, shown):
    """A task's checks: the diagnosis once, the failed checks with their messages (the first failing hidden
    case in full), every hidden case folded."""
    head = (
        f"<section class='grade {_status_class(task.status)}' data-grader id='grade-{_h(task.id)}'>\n"
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

    code_style = HtmlFormatter(style="default").get_style_defs(".notebook-cell .highlight")
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
.from-notebook { border: 1px dashed #afb8c1; border-radius: 6px; padding: 0 .8em .2em; margin: 1em 0; }
.from-notebook::before { content: "from your notebook"; display: block; font-size: 11px; color: #6e7781;
                         text-transform: uppercase; letter-spacing: .05em; margin: .3em 0 -.2em; }
.notebook-cell { margin: .8em 0; }
.notebook-cell .input_area, .notebook-cell .highlight { background: #f6f8fa; border: 1px solid #d0d7de;
                                                        border-radius: 6px; padding: .2em .8em; }
.notebook-cell .input_area .highlight { border: 0; padding: 0; }
.notebook-cell .output_area pre { background: #fff; border-left: 3px solid #d0d7de; padding: .2em .8em; }
.notebook-cell .output_stderr pre { background: #fff0f0; }
.notebook-cell img { max-width: 100%; height: auto; }
.notebook-cell table { border-collapse: collapse; }
.notebook-cell td, .notebook-cell th { border: 1px solid #d0d7de; padding: .2em .5em; }
.notebook-cell .anchor-link { display: none; }
[data-grader] table.scores { border-collapse: collapse; margin: 1em 0 2em; min-width: 60%; }
[data-grader] table.scores th, [data-grader] table.scores td { border: 1px solid #d0d7de; padding: .35em .8em;
                                                              text-align: left; }
[data-grader] table.scores thead th, [data-grader] table.scores tfoot th { background: #f6f8fa; }
[data-grader] table.scores .points { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
[data-grader] tr.failed td:last-child { color: #b42318; }
[data-grader] tr.passed td:last-child { color: #1a7f37; }
.note[data-grader], .not-graded[data-grader] { background: #fff8c5; border: 1px solid #d4a72c; padding: .5em .8em;
                                               border-radius: 6px; }
section.grade[data-grader] { border: 1px solid #d0d7de; border-left: 6px solid #1a7f37; border-radius: 6px;
                             padding: .4em 1em .8em; margin: 1em 0 2em; background: #f6fff8; }
section.grade.failed[data-grader] { border-left-color: #b42318; background: #fff8f7; }
section.grade[data-grader] h3 { margin: .3em 0; }
section.grade[data-grader] .status { font-weight: normal; color: #57606a; }
[data-grader] .diagnosis { background: #ddf4ff; border: 1px solid #54aeff; border-radius: 6px; padding: .4em .8em; }
[data-grader] ul.checks { list-style: none; padding-left: .2em; }
[data-grader] ul.checks li { margin: .25em 0; }
[data-grader] ul.checks li.pass { color: #1a7f37; }
[data-grader] ul.checks li.fail { color: #b42318; }
[data-grader] ul.checks li pre { color: #1f2328; background: #fff; border: 1px solid #d0d7de; border-radius: 4px;
                                 padding: .4em .6em; }
[data-grader] ul.checks .points { color: #57606a; }
[data-grader] details { margin: .5em 0; }
[data-grader] summary { cursor: pointer; font-weight: 600; }
"""
