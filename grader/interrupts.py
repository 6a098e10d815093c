"""Exceptions raised by signal handlers that are never lost.

Python runs a signal handler between two bytecodes of the main thread, and those may be inside a
``__del__`` method or a weakref callback. An exception raised there does not propagate: the interpreter
prints "Exception ignored in ..." with a traceback and carries on, so a SIGTERM that should have stopped a
grading is lost and its sandbox runs on until someone kills the process.

A handler raises ``interrupts.raised(exc)`` instead of ``exc``. Where that exception is swallowed so, the
unraisable hook prints nothing and raises it again a moment later (a one-shot SIGALRM: nothing else in a
grader process uses it), from wherever the main thread is then; it goes on doing so until the exception
propagates. Should the process reach its exit first, an exit (SystemExit) still pending ends it with its
status.
"""

import atexit
import os
import signal
import sys
import threading

AGAIN_SECONDS = 0.005  # soon enough to be unnoticed, late enough to be past the finalizer that swallowed it

_pending: BaseException | None = None  # the exception a handler raised last
_swallowed = False  # it was swallowed and is to be raised again
_previous_hook = sys.unraisablehook


def raised(exc):
    """``exc``, marked as raised by a signal handler: ``raise interrupts.raised(SystemExit(143))``."""
    global _pending, _swallowed, _previous_hook
    if _swallowed:
        signal.setitimer(signal.ITIMER_REAL, 0)  # a newer exception supersedes the one still to be raised
    _pending, _swallowed = exc, False
    if sys.unraisablehook is not _hook:
        _previous_hook = sys.unraisablehook  # whatever hook is in place now keeps reporting the rest
        sys.unraisablehook = _hook
        atexit.register(_at_exit)
    return exc


def _hook(unraisable):
    global _swallowed
    ours = _pending is not None and unraisable.exc_value is _pending
    if not ours or threading.current_thread() is not threading.main_thread():  # handlers run there only
        _previous_hook(unraisable)
        return
    _swallowed = True
    signal.signal(signal.SIGALRM, _raise_again)
    signal.setitimer(signal.ITIMER_REAL, AGAIN_SECONDS)


def _raise_again(signum, frame):
    global _swallowed
    if _swallowed and _pending is not None:
        _swallowed = False
        raise _pending


def _at_exit():
    """The process is exiting with an exit still to be raised again: no timer may fire once the interpreter
    has put SIGALRM back to its default (it would kill the process), and the exit's status is the status."""
    if not _swallowed:
        return
    signal.setitimer(signal.ITIMER_REAL, 0)
    if isinstance(_pending, SystemExit) and isinstance(_pending.code, int):
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except (OSError, ValueError, AttributeError):
                pass
        os._exit(_pending.code)
