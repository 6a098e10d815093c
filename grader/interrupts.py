"""Exceptions raised by signal handlers that are never lost.

Python runs a signal handler between two bytecodes of the main thread, and those may be inside a
``__del__`` method or a weakref callback (the sandbox's clock closes a /proc file that way on every call).
An exception raised there does not propagate: the interpreter prints "Exception ignored in ..." with a
traceback and carries on, so a SIGTERM that should have stopped a grading is lost and its sandbox runs on
until someone kills the process.

A handler raises ``interrupts.raised(exc)`` instead of ``exc``. Where that exception is swallowed so, the
unraisable hook prints nothing and raises it again a moment later (a one-shot SIGALRM), from wherever the
main thread is then; it goes on doing so until the exception propagates.
"""

import signal
import sys
import threading

AGAIN_SECONDS = 0.005  # soon enough to be unnoticed, late enough to be past the finalizer that swallowed it

_pending: BaseException | None = None  # the exception a handler raised last
_previous_hook = sys.unraisablehook


def raised(exc):
    """``exc``, marked as raised by a signal handler: ``raise interrupts.raised(SystemExit(143))``."""
    global _pending
    _pending = exc
    if sys.unraisablehook is not _hook:
        sys.unraisablehook = _hook
    return exc


def _hook(unraisable):
    if _pending is None or unraisable.exc_value is not _pending:
        _previous_hook(unraisable)
        return
    if threading.current_thread() is not threading.main_thread():  # handlers run in the main thread only
        _previous_hook(unraisable)
        return
    signal.signal(signal.SIGALRM, _raise_again)
    signal.setitimer(signal.ITIMER_REAL, AGAIN_SECONDS)


def _raise_again(signum, frame):
    if _pending is not None:
        raise _pending
