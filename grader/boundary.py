"""The trust boundary: everything that comes out of the sandbox is made safe here (SPEC section 7).

The child running student code is hostile: what it sends back is bytes chosen to fool the grader or
whoever reads its reports. Nothing it says reaches a check, a terminal, the JSON report or Gradescope's
results.json without passing through this module, and every reply is read through it:

- :func:`read_reply`: one frame, its sizes checked and charged to the submission's budget before a byte
  of it is read (a fork's reply, or the template's);
- :func:`template_pid`, :func:`template_event`, :func:`confinement_report`: the template's answers
  (its pid, a fork's exit, what its startup probe found), as typed values or None;
- :func:`call_result`, :func:`load_errors`, :func:`names`: a fork's answers to calls and loads;
- :func:`printable` and :func:`printable_block`: student text, for a terminal or a file.

It imports downward only (the protocol's decoder and the standard library): the sandbox imports it.
"""

import dataclasses
from collections.abc import Callable

from grader.sandbox import protocol

# -- Student text made printable ----------------------------------------------------------------------
#
# Student text (exception messages and type names, returned types, prints, load notes) can carry
# terminal escapes that rewrite the score line, carriage returns and newlines that forge report lines,
# bidi overrides that reorder what a reader sees, lone surrogates that no UTF-8 file can hold, and
# megabytes. Every character that str.isprintable() rejects (the Unicode categories Cc Cf Cs Co Cn Zl Zp
# and Zs but the space: C0 and C1 controls, DEL, bidi and other format controls, surrogates, private use,
# unassigned code points, line and paragraph separators) is shown as a Python-style escape (\n, \x1b,
# \u202e, \udc80, \U000f0000), and lengths are bounded with a marker saying how much was left out. A
# result fits its limit, marker included, so sanitizing twice gives the same text.

TEXT_LIMIT = 2000  # characters of one message or note: a case, expected vs received, the student's error
FRAGMENT_LIMIT = 300  # one piece of student text inside a grader sentence: an exception type, a file name
BLOCK_LIMIT = 16 * 1024  # characters of one block of prints or a traceback: enough to debug, not a flood
BLOCK_LINES = 200  # lines of one block: a few screens
MAX_ITEMS = 20  # entries of one list (notes), the "... and N more" entry included: the pattern, not a flood
MIN_LIMIT = 40  # the smallest limit: the cut marker of any text fits in it

_SHORT_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def printable(text: object, limit: int = TEXT_LIMIT) -> str:
    """``text`` (any object) as one line of at most ``limit`` characters, safe for a terminal and a UTF-8 file.

    Characters that are not safely printable are escaped (newlines too); a longer text is cut and ends
    with a marker counting the characters left out. ``str()`` of an object that raises is described.
    """
    _check_limit("limit", limit, MIN_LIMIT)
    whole = _as_text(text)
    shown, taken = _escape(whole, limit)
    if taken == len(whole):
        return shown
    shown, taken = _escape(whole, limit - len(_cut_marker(len(whole))))
    return shown + _cut_marker(len(whole) - taken)


def printable_block(text: object, limit: int = BLOCK_LIMIT, max_lines: int = BLOCK_LINES) -> str:
    """``text`` (any object) as lines safe for a terminal and a UTF-8 file: what :func:`printable` does,
    but newlines are kept (a ``\\r\\n`` counts as one). At most ``max_lines`` lines and ``limit``
    characters in all; when more was printed, the last line says how much was left out.
    """
    _check_limit("limit", limit, MIN_LIMIT)
    _check_limit("max_lines", max_lines, 2)
    whole = _as_text(text)
    lines, taken, cut_in_line = _lay_out(whole, limit, max_lines)
    if taken == len(whole):
        return "\n".join(lines)
    reserve = 1 + len(_more_characters(len(whole)))  # the marker line and its newline, at their longest
    lines, taken, cut_in_line = _lay_out(whole, limit - reserve, max_lines - 1)
    if cut_in_line:
        marker = _more_characters(len(whole) - taken)
    else:  # the empty piece after a final newline is no line
        marker = _more_lines(whole.count("\n", taken) + (0 if whole.endswith("\n") else 1))
    return "\n".join(lines + [marker])


def printable_items(items, limit=TEXT_LIMIT, max_items=MAX_ITEMS, more="more"):
    """A tuple of at most ``max_items`` printable strings, one per item of the sequence ``items``; when there
    are more, the last entry counts the rest: "... and N more" (or "... and N {more}"). Only the entries
    shown are converted."""
    _check_limit("max_items", max_items, 2)
    if len(items) <= max_items:
        return tuple(printable(item, limit) for item in items)
    shown = tuple(printable(item, limit) for item in items[: max_items - 1])
    return shown + (printable(f"... and {len(items) - len(shown)} {more}"),)


def _check_limit(name, value, least):
    if type(value) is not int or value < least:
        raise ValueError(f"{name} must be an int of at least {least}, got {value!r}")


def _as_text(value):
    """``value`` as a plain str; never raises (a failing ``__str__`` is described instead)."""
    if type(value) is str:
        return value
    if isinstance(value, str):
        return str.__str__(value)  # a str subclass's own __str__ is not called
    try:
        text = str(value)
        return text if type(text) is str else str.__str__(text)
    except Exception as exc:  # an object whose __str__ raises, or returns something odd
        return f"<unprintable {_type_name(value)} object: str() raised {_type_name(exc)}>"


def _type_name(value):
    try:
        return type.__dict__["__name__"].__get__(type(value))  # not the metaclass's idea of the name
    except Exception:
        return "?"


def _escape(text, budget):
    """(escaped text of at most ``budget`` characters, how many characters of ``text`` it shows)."""
    head = text[:budget]  # an escape is never shorter than its character: no more can be shown
    if head.isprintable():
        return head, len(head)
    pieces, used = [], 0
    for char in head:
        piece = char if char.isprintable() else _escape_char(char)
        if used + len(piece) > budget:
            break
        pieces.append(piece)
        used += len(piece)
    return "".join(pieces), len(pieces)


def _escape_char(char):
    code = ord(char)
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def _lay_out(text, budget, max_lines):
    """The escaped lines of ``text`` within ``budget`` characters (the newlines between them included) and
    ``max_lines`` lines: (lines, how many characters of text they show, whether the budget ran out)."""
    lines, used, start = [], 0, 0
    while len(lines) < max_lines:
        room = budget - used - (1 if lines else 0)  # a newline separates this line from the one before
        if room < 0:
            return lines, start, True
        end = text.find("\n", start, start + room + 2)  # no line longer than the room needs reading whole
        line = text[start:end] if end >= 0 else text[start : start + room + 1]
        if end >= 0 and line.endswith("\r"):
            line = line[:-1]  # "\r\n" is one newline
        shown, taken = _escape(line, room)
        if taken < len(line):
            return lines + [shown] if shown else lines, start + taken, True
        lines.append(shown)
        used += len(shown) + (1 if len(lines) > 1 else 0)
        if end < 0:
            return lines, len(text), False
        start = end + 1
    return lines, start, False


def _cut_marker(left_out):
    return f"... [{left_out} more characters]"


def _more_characters(left_out):
    return f"... {left_out} more characters left out"


def _more_lines(left_out):
    return f"... {left_out} more lines left out"


# -- Frames and the template's answers -----------------------------------------------------------------
#
# A frame announces its sizes first; they are checked against MAX_REPLY_BYTES and charged to what the
# whole submission may still send before any of it is read (protocol.read_frame). The template runs no
# student code, but a task's processes run beside it and the grader believes only what has the expected
# type: a pid is an int, an exit status an int, a report a list of short strings.

MAX_REPLY_BYTES = 64 << 20  # one reply: the largest graded reply (trained CIFAR-10 weights) is ~7 MB
SUBMISSION_REPLY_BYTES = 1 << 30  # every reply of a submission together; an honest one sends ~100 MB
MAX_FOUND = 50  # what a confinement probe may report it managed


def read_reply(read_exact: Callable[[int], bytes | bytearray], charge: Callable[[int], None]) -> tuple[dict, list]:
    """(header, arrays) of one frame read with ``read_exact(n)``, ``charge(nbytes)`` called with its size
    before it is read (raising to refuse it); raises protocol.ProtocolError on a broken frame."""
    return protocol.read_frame(read_exact, MAX_REPLY_BYTES, charge)


def template_pid(header: object) -> int | None:
    """The pid the template says it has (as it sees it), or None."""
    pid = header.get("pid") if isinstance(header, dict) else None
    return pid if type(pid) is int and pid > 0 else None


@dataclasses.dataclass(frozen=True)
class TemplateEvent:
    """The template's report on the current fork."""

    event: str
    """'started', 'exited' (the fork itself is gone) or 'ended' (it and every process it started); '' if
    the header said something else."""
    status: int | None = None
    """The fork's exit status as waitstatus_to_exitcode gives it (negative: a signal), or None."""
    maxrss: int | None = None
    """Its peak resident memory in bytes, or None."""
    cpu: float | None = None
    """Its CPU seconds, or None."""
    pid: int | None = None
    """For 'started': the fork's pid as the template sees it."""


def template_event(header: object) -> TemplateEvent:
    """A :class:`TemplateEvent` from the template's header (fields of the wrong type are None)."""
    fields = header if isinstance(header, dict) else {}
    event = fields.get("event")
    status, maxrss, cpu = fields.get("status"), fields.get("maxrss"), fields.get("cpu")
    return TemplateEvent(
        event=event if event in ("started", "exited", "ended") else "",
        status=status if type(status) is int else None,
        maxrss=maxrss if type(maxrss) is int and maxrss >= 0 else None,
        cpu=float(cpu) if isinstance(cpu, (int, float)) and type(cpu) is not bool and cpu >= 0 else None,
        pid=template_pid(fields),
    )


def confinement_report(header: object) -> tuple[int | None, tuple[str, ...]] | None:
    """(uid, found) from the template's startup probe: the uid its forks run as (None: unchanged) and what
    a fork so confined still managed, as short printable strings; None if the report is malformed."""
    report = header.get("confinement") if isinstance(header, dict) else None
    if not isinstance(report, dict):
        return None
    found, uid = report.get("found"), report.get("uid")
    if not isinstance(found, list) or len(found) > MAX_FOUND or not all(isinstance(item, str) for item in found):
        return None
    if uid is not None and (type(uid) is not int or uid < 0):
        return None
    return uid, tuple(printable(item, FRAGMENT_LIMIT) for item in found)


# -- Replies decoded into what the checks see ----------------------------------------------------------
#
# A reply's header and arrays were read within the sizes the channel allows (grader.sandbox.supervisor); the
# protocol decoder has turned the trees into plain values, checked item by item. What is left is the
# reply's own fields, which the child chose: nothing in them is believed but as data. The arity of a
# returned tuple is the number of items decoded; every string is made printable; an error's fields are
# strings or nothing.

IMPORT_ERRORS = ("ModuleNotFoundError", "ImportError")  # a module the sandbox does not hold: numpy and assignment only


def call_result(result_class, reply, arrays, seconds, wrapped, load_errors=(), sources=None):
    """The ``result_class`` (grader.sandbox.session.CallResult) of one reply to a call, getattr, setattr or train.

    wrapped: the reply of a call, whose values are {"result", "args", "args_before"}. load_errors: the
    session's, so that a NameError on a name whose import failed while loading says so. sources: the
    grader's own cells, filename -> source, where an error's line is looked up.
    """
    output = printable_block(reply.get("output", ""))
    if reply.get("ok") is not True:
        error = reply.get("error") if isinstance(reply.get("error"), dict) else {}
        name = printable(error.get("type", "Exception"), FRAGMENT_LIMIT)
        message = f"{name}: {printable(error.get('message', ''), FRAGMENT_LIMIT)}".rstrip(": ")
        return result_class(
            ok=False,
            error_kind="exception",
            error_type=name,
            message=message + _import_hint(name, error.get("message"), load_errors),
            traceback=printable_block(error.get("traceback", ""), limit=4000, max_lines=40),
            where=source_line(error.get("where"), sources or {}),
            output=output,
            seconds=seconds,
        )
    try:
        values = protocol.decode(reply.get("values", {"v": None}), arrays)
    except (protocol.ProtocolError, KeyError, TypeError, ValueError, AttributeError, RecursionError) as exc:
        return result_class(
            ok=False, error_kind="protocol", message=printable(f"unreadable answer ({exc})"), seconds=seconds
        )
    value, args_after, args_before = values, None, None
    if wrapped:
        if not isinstance(values, dict):
            return result_class(ok=False, error_kind="protocol", message="unreadable answer", seconds=seconds)
        value, args_after, args_before = values.get("result"), values.get("args"), values.get("args_before")
    arity = len(value) if isinstance(value, (tuple, list)) else None
    return result_class(
        ok=True,
        value=value,
        args_after=args_after,
        args_before=args_before,
        arity=arity,
        result_type=printable(reply.get("result_type", ""), FRAGMENT_LIMIT),
        output=output,
        seconds=seconds,
    )


def source_line(where, sources):
    """'<cell> line 12: dx[n] += dout[n]' for the [filename, line] a child names, or "".

    Only the grader's own copy of the cells is believed: the filename must be one of them and the line
    within it; the code shown is read from that copy, never from the child.
    """
    if type(where) is not list or len(where) != 2 or type(where[0]) is not str or type(where[1]) is not int:
        return ""
    filename, line = where
    source = sources.get(filename)
    if type(source) is not str:
        return ""
    lines = source.splitlines()
    if not 1 <= line <= len(lines):
        return ""
    return f"{filename} line {line}: {printable(lines[line - 1].strip(), FRAGMENT_LIMIT)}"


def _import_hint(error_type, message, load_errors):
    """For "NameError: name 'plt' is not defined" where the import of plt failed while loading."""
    if error_type != "NameError" or not isinstance(message, str) or message.count("'") < 2:
        return ""
    name = message.split("'")[1]
    for error in load_errors:
        if error.get("type") in IMPORT_ERRORS and name in error.get("defines", ()):
            return (
                f" ({name} was not imported: {error['filename']} line {error['line']}: {error['message']}; "
                f"graded code can import only numpy, the standard library and the assignment package)"
            )
    return ""


def load_errors(errors, cell, statement):
    """The load error a fork reported for one statement (the first dict of ``errors``), as a list of at most
    one plain printable dict.

    Only what the grader sent is believed about where the error is: the cell's filename, the statement's
    lines and the names it defines; the child says the error's type and message, and which line of the
    statement raised (believed only within the statement; else its first line).
    """
    error = next((e for e in errors if isinstance(e, dict)), None) if isinstance(errors, list) else None
    if error is None:
        return []
    defines = list(statement[2]) if len(statement) > 2 and isinstance(statement[2], list) else []
    kind = printable(error.get("type", "Exception"), FRAGMENT_LIMIT)
    where = error.get("where")
    within = (
        type(where) is list
        and len(where) == 2
        and where[0] == cell["filename"]
        and type(where[1]) is int
        and statement[0] <= where[1] <= statement[1]
    )
    line = where[1] if within else statement[0]
    return [
        {
            "filename": cell["filename"],
            "line": line,
            "defines": defines,
            "type": kind,
            "kind": "exception",
            "message": printable(error.get("message", ""), FRAGMENT_LIMIT),
            "quiet": kind in IMPORT_ERRORS,
        }
    ]


def names(defined: object) -> set[str]:
    """The names a fork says it defines: strings only, printable; anything else defines nothing."""
    if not isinstance(defined, list):
        return set()
    return {name for name in defined[:100_000] if type(name) is str and name.isidentifier()}
