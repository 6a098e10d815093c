"""grader.interrupts: an exception raised by a signal handler inside a finalizer is raised again, not lost."""

import signal
import subprocess
import sys
import textwrap
import time

import pytest

# A process whose main thread spends nearly all its first 1.5 s in __del__, where a SIGTERM sent at 0.3 s has
# its handler run (and every raise again until then), then 2.5 s in plain code.
PROGRAM = textwrap.dedent(
    """
    import signal, sys, time
    from grader import interrupts

    def plain(signum, frame):
        raise SystemExit(128 + signum)

    def marked(signum, frame):
        raise interrupts.raised(SystemExit(128 + signum))

    signal.signal(signal.SIGTERM, marked if sys.argv[1] in ("marked", "marked-ends") else plain)

    class Slow:
        def __del__(self):
            started = time.perf_counter()
            while time.perf_counter() - started < 0.01:
                pass

    print("ready", flush=True)
    start = time.monotonic()
    while time.monotonic() < start + 1.5:
        Slow()
    if sys.argv[1] == "marked-ends":  # the program ends, the exit still to be raised again, with a slow atexit
        import atexit
        atexit.register(time.sleep, 0.05)
        sys.exit(0)
    while time.monotonic() < start + 4:
        pass
    print("still running after the SIGTERM", flush=True)
    """
)


def run_and_terminate(mode):
    process = subprocess.Popen(
        [sys.executable, "-c", PROGRAM, mode], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout.readline() == "ready\n"
    time.sleep(0.3)
    sent = time.monotonic()
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=30)
    return process.returncode, out, err, time.monotonic() - sent


def test_a_plain_handler_s_exit_is_lost_in_a_finalizer():
    """The failure this module exists for, shown so the next test is known to exercise it."""
    code, out, err, _ = run_and_terminate("plain")
    assert code == 0 and "still running" in out
    assert "Exception ignored in" in err and "SystemExit: 143" in err


def test_a_marked_exit_is_raised_again_and_prints_nothing():
    code, out, err, seconds = run_and_terminate("marked")
    assert code == 143, err
    assert "still running" not in out
    assert err == ""
    assert seconds < 3  # raised again once the finalizers stop, at 1.2 s


def test_an_exit_still_to_be_raised_when_the_program_ends_gives_its_status():
    code, out, err, _ = run_and_terminate("marked-ends")
    assert code == 143, err
    assert err == ""


@pytest.mark.parametrize("raise_first", [False, True])
def test_other_unraisable_exceptions_are_still_reported(raise_first):
    program = textwrap.dedent(
        f"""
        import gc, sys
        from grader import interrupts

        def reported(unraisable):  # a hook installed after grader.interrupts was imported keeps reporting
            sys.__stderr__.write("reported: " + str(unraisable.exc_value) + "\\n")
            sys.__unraisablehook__(unraisable)

        sys.unraisablehook = reported
        if {raise_first}:
            try:
                raise interrupts.raised(SystemExit(143))
            except SystemExit:
                pass

        class Broken:
            def __del__(self):
                raise ValueError("a finalizer's own bug")

        Broken()
        gc.collect()
        print("done")
        """
    )
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0 and done.stdout == "done\n"
    assert "Exception ignored in" in done.stderr and "a finalizer's own bug" in done.stderr
    assert "reported: a finalizer's own bug" in done.stderr
