"""Progress of a class run: one redrawn line on a terminal, plain lines otherwise (a log, CI).

Written here rather than taken from tqdm or rich: one line with a bar, the count, the ETA and the
failures so far is all a class run needs, and the grader stays free of a dependency for it.
"""

import os
import shutil
import sys
import time

from grader.boundary import FRAGMENT_LIMIT, printable

BAR_WIDTH = 24
REDRAW_SECONDS = 0.2  # a terminal line is redrawn at most this often (the last update always is)


class Progress:
    """Counts finished submissions; ``update`` after each, ``finish`` once at the end."""

    def __init__(self, total, skipped=0, stream=None, is_terminal=None):
        """total: submissions to grade in this run; skipped: those kept from an earlier run."""
        self.stream = stream or sys.stderr
        self.terminal = self._is_terminal() if is_terminal is None else is_terminal
        self.total, self.done, self.failures = total, 0, 0
        self.started = time.monotonic()
        self._drawn = 0.0
        if skipped:
            self._write(f"{skipped} submission(s) unchanged since the last run: kept\n")
        if self.terminal and total:
            self._write(self._line()[: self._width()])  # the bar from the start, before the first result

    def update(self, student, outcome, failed):
        """outcome: a short text ('87.0 / 100' or 'unreadable'); failed: whether it counts as a failure."""
        self.done += 1
        self.failures += bool(failed)
        if self.terminal:
            now = time.monotonic()
            if now - self._drawn >= REDRAW_SECONDS or self.done == self.total:
                self._drawn = now
                self._write("\r" + self._line()[: self._width()] + "\x1b[K")
        else:
            self._write(
                f"[{self.done}/{self.total}] {printable(student, FRAGMENT_LIMIT)}: {printable(outcome, FRAGMENT_LIMIT)}"
                f" | {self._counts()}\n"
            )

    def finish(self, message=""):
        if self.terminal and self.done:
            self._write("\n")
        if message:
            self._write(message + "\n")

    def interrupted(self, line):
        """Say ``line`` at once, from a signal handler: on a line of its own, below the bar."""
        say_now(self.stream, ("\n" if self.terminal and self.total else "") + line)

    def eta(self):
        """Seconds left at the pace so far, or None before the first submission."""
        if not self.done:
            return None
        return (time.monotonic() - self.started) / self.done * (self.total - self.done)

    def _line(self):
        filled = BAR_WIDTH * self.done // max(self.total, 1)
        return f"[{'#' * filled}{'.' * (BAR_WIDTH - filled)}] {self._counts()}"

    def _counts(self):
        eta = self.eta()
        shown = "?" if eta is None else _duration(eta)
        return f"{self.done}/{self.total} graded, {self.failures} failed so far, ETA {shown}"

    def _width(self):
        return max(shutil.get_terminal_size((80, 24)).columns - 1, 20)

    def _is_terminal(self):
        try:
            return self.stream.isatty()
        except (AttributeError, ValueError):
            return False

    def _write(self, text):
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed stream costs the progress only
            pass


def say_now(stream, line):
    """Write ``line`` and a newline to ``stream`` from a signal handler: straight to its file descriptor
    when it has one (the handler may have interrupted a write to the same buffered stream, which would
    refuse a reentrant call), else through the stream; a closed or broken stream costs the line only."""
    data = (line + "\n").encode("utf-8", "replace")
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):
        fd = None
    try:
        if fd is None:
            stream.write(line + "\n")
            stream.flush()
        else:
            os.write(fd, data)
    except (OSError, ValueError, RuntimeError):
        pass


def _duration(seconds):
    seconds = int(round(seconds))
    return (
        f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
        if seconds >= 3600
        else f"{seconds // 60}:{seconds % 60:02d}"
    )
