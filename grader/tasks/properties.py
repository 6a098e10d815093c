"""Properties: claims that hypothesis checks on generated examples (SPEC section 4), 1 point each.

How a property runs: hypothesis draws an example from the property's strategy (for the normalizations,
a :class:`grader.tasks.normalization.Example`: shapes, G, eps, and the seed of the values), the check calls
the student's code (through :func:`student_call`) and returns a Verdict. A wrong value or an exception raised by the
student's code fails the example and hypothesis shrinks it; the message reports the shrunk minimal
example. A call that hangs or crashes, or a function that is not written yet, stops the property at
once: shrinking would only repeat it (a hang would cost a timeout per shrink step). Generation is
derandomized and shrinking is capped by a count (never by time), so two gradings give the same messages.

The examples hypothesis tried on a passing implementation are kept, per process (grader.tasks.memo) and on
disk (grader.tasks.disk), and replayed without hypothesis: ``import hypothesis`` (~0.2 s) and its search
(~0.5-1 s a grading) are paid only where no examples are kept yet, or where a replay fails and hypothesis
must shrink the failing example.
"""

import functools
import sys
from dataclasses import dataclass
from importlib import metadata
from typing import Callable

import grader
from grader.report import Kind, Reason
from grader.tasks import disk, memo
from grader.tasks.base import Outcome, call_failed

PROPERTY_POINTS = 1.0
SHRINK_BUDGET = 150  # examples one failing property may spend shrinking: ~0.1-0.5 s, counted, never timed


@dataclass(frozen=True)
class Property:
    """A claim checked on generated examples: check(ctx, example) -> Verdict."""

    name: str
    examples: Callable
    """examples(groups) -> the hypothesis strategy of the examples the property is checked on."""
    groups: str
    """Which examples: the argument of ``examples`` (e.g. 'divisor' for group norm with any G dividing C)."""
    check: Callable
    role: str = ""
    """'reference' for the property that compares with the reference; 'needs reference' for one that wrong
    values can satisfy too (all-zero gradients sum to zero): it earns only when the 'reference' one passes."""
    example: type | None = None
    """The frozen dataclass the examples are, with ``to_data()`` -> a dict of plain values and
    ``from_data(dict, groups)`` -> the example (ValueError or TypeError for anything the strategy could not
    have drawn for those groups): how the examples go to disk (grader.tasks.disk) and come back. None keeps them in this process."""


def composite(draw_example):
    """``hypothesis.strategies.composite(draw_example)``, made when the strategy is first asked for, so that
    defining a property imports no hypothesis (a grading whose examples are all kept never does)."""

    @functools.wraps(draw_example)
    def strategy(*args):
        from hypothesis import strategies

        return strategies.composite(draw_example)(*args)

    return strategy


class _StudentCallFailed(Exception):
    """The student's code raised, hung or crashed on an example; carries the failed outcome."""

    def __init__(self, failed, stop):
        super().__init__(failed.message)
        self.failed, self.stop = failed, stop


class _Shrink(Exception):
    """Raised in the property on a failing example, so that hypothesis shrinks it."""


class _Stop(BaseException):
    """Stops hypothesis at once (it shrinks on Exception only): a hang, a crash, no code, or the budget."""


class _GraderBug(BaseException):
    """The grader's own check raised: stop hypothesis at once (no shrinking) and re-raise the cause."""


class _Record:
    """What one property run saw: examples tried, and the latest failure."""

    def __init__(self):
        self.examples, self.example, self.message, self.failure, self.reason = 0, None, "", "", Reason.NONE
        self.stopped = False
        """True when the property stopped before hypothesis shrank the example."""
        self.flaky = False
        """True when the failing example passed when hypothesis ran it again."""
        self.tried = []
        """Every example checked, in order."""

    def failed(self, example, message, failure="", reason=Reason.NONE):
        self.example, self.message, self.failure, self.reason = example, message, failure, reason


def student_call(ctx, target, *args, keep=None, send="all"):
    """Call student code inside a property: the CallResult of a call that returned, else
    :class:`_StudentCallFailed`."""
    result = ctx.session.call(target, *args, keep=keep, send=send, timeout=ctx.config.timeout)
    if result.ok:
        return result
    # Shrinking helps only an exception that depends on the input; anything else stops the property.
    stop = result.error_kind != "exception" or result.error_type in ("NotImplementedError", "NameError")
    raise _StudentCallFailed(call_failed("", PROPERTY_POINTS, result), stop)


def property_outcomes(ctx, properties):
    """The Outcome of each property; one whose role is 'needs reference' earns its point only alongside a
    passing 'reference' property of the same task (none at all, and it earns nothing)."""
    outcomes = [_property_outcome(ctx, prop) for prop in properties]
    agreeing = [o.passed for prop, o in zip(properties, outcomes) if prop.role == "reference"]
    right = bool(agreeing) and all(agreeing)
    return [
        _alongside_reference(o) if prop.role == "needs reference" and o.passed and not right else o
        for prop, o in zip(properties, outcomes)
    ]


def _alongside_reference(held):
    return Outcome(
        held.name,
        held.points,
        False,
        f"not awarded: {held.message}, but this property also holds for wrong gradients (all zeros "
        "sum to zero), so it earns its point only when dx, dgamma, dbeta agree with the reference",
        kind=held.kind,
        reason=Reason.NOT_AWARDED,
    )


def _property_outcome(ctx, prop):
    """Run one property with hypothesis; its Outcome reports the shrunk minimal failing example.

    Hypothesis is derandomized, so on an implementation that passes every example it tries the same
    examples in the same order, whatever the implementation. The first passing run in a process keeps them
    (grader.tasks.memo); later runs replay them without hypothesis' search. Replaying decides pass or fail
    exactly as hypothesis would (the same examples, the same calls in the same order, so the student's code
    sees the same sequence); only on a failure that hypothesis would shrink does hypothesis run, to find
    the shrunk example for the message. The examples are kept on disk too (grader.tasks.disk), for the
    processes to come.
    """
    key = (prop.name, prop.groups, ctx.config.hypothesis_examples)
    examples = _PASSING_EXAMPLES.get(key)
    if examples is None:
        examples = _examples_on_disk(prop, ctx.config.hypothesis_examples)
        if examples is not None:
            _PASSING_EXAMPLES.put(key, examples)
    if examples is None:
        record = _hypothesis_run(ctx, prop)
        if record.example is None and not record.flaky:
            _PASSING_EXAMPLES.put(key, record.tried)
            _keep_on_disk(prop, ctx.config.hypothesis_examples, record.tried)
        return _property_result(prop.name, record)
    replayed = _replay(ctx, prop, examples)
    if replayed.example is None or replayed.stopped:
        return _property_result(prop.name, replayed)  # passed, or stopped at once as hypothesis would have
    record = _hypothesis_run(ctx, prop)
    if record.example is None:  # it passed this time: the code keeps state between calls
        replayed.flaky = True
        record = replayed
    return _property_result(prop.name, record)


# Property key -> the examples hypothesis tried on a passing implementation, in order.
_PASSING_EXAMPLES = memo.BoundedStore()
DISK_KIND = "examples"  # the disk cache's name for them


def _examples_on_disk(prop, count):
    """The examples kept on disk for ``prop`` and ``count`` examples, or None: none kept, or not a list of
    1 to ``count`` examples the strategy could have drawn (hypothesis tries at most ``count``)."""
    key = _disk_key(prop, count)
    stored = disk.load(DISK_KIND, key) if key is not None else None
    if type(stored) is not list or not 0 < len(stored) <= count:
        return None
    try:
        return [prop.example.from_data(item, prop.groups) for item in stored]
    except (ValueError, TypeError):
        return None


def _keep_on_disk(prop, count, examples):
    key = _disk_key(prop, count)
    if key is not None:
        disk.store(DISK_KIND, key, [example.to_data() for example in examples])


def _disk_key(prop, count):
    """What a property's examples depend on: the property, its groups, the number of examples, hypothesis'
    version, and the source of the strategy's module and of this one (which holds the runner whose text
    seeds the derandomized search); None when they cannot be kept (no example type, sources not readable)."""
    if prop.example is None:
        return None
    try:
        sources = disk.source_digest(sys.modules[prop.examples.__module__].__file__, __file__)
        version = _hypothesis_version()
    except (OSError, KeyError, AttributeError, TypeError, metadata.PackageNotFoundError):
        return None
    return {
        "property": prop.name,
        "groups": prop.groups,
        "examples": count,
        "hypothesis": version,
        "grader": grader.__version__,
        "python": "%d.%d" % sys.version_info[:2],
        "sources": sources,
    }


@functools.lru_cache(maxsize=None)
def _hypothesis_version():
    """Read from its installed metadata: importing hypothesis to ask would cost what the cache saves."""
    return metadata.version("hypothesis")


def _replay(ctx, prop, examples):
    """Check ``examples`` in order, as hypothesis would, until one fails; the _Record of what was seen."""
    record = _Record()
    budget = ctx.config.hypothesis_examples + SHRINK_BUDGET
    for example in examples:
        try:
            _check_example(ctx, prop, example, record, budget)
        except (_Stop, _Shrink):
            break
        except _GraderBug as bug:
            raise bug.__cause__
    return record


def _hypothesis_run(ctx, prop):
    """Run one property with hypothesis; the _Record of what it saw (its failure is the shrunk example)."""
    # Imported here: a grading whose examples are all kept never imports hypothesis (see composite).
    from hypothesis import HealthCheck, Phase, Verbosity, given, settings
    from hypothesis.errors import Flaky

    record = _Record()
    budget = ctx.config.hypothesis_examples + SHRINK_BUDGET
    # Named as before the runner left grader.tasks.normalization: hypothesis derives its derandomized seed from
    # run's source, decorators included, so the same text keeps the same examples.
    _examples = prop.examples

    @settings(
        derandomize=True,
        database=None,
        max_examples=ctx.config.hypothesis_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        phases=(Phase.explicit, Phase.generate, Phase.shrink),
        report_multiple_bugs=False,
        verbosity=Verbosity.quiet,
    )
    @given(_examples(prop.groups))
    def run(example):
        _check_example(ctx, prop, example, record, budget)

    try:
        run()
    except (_Stop, _Shrink):
        pass
    except _GraderBug as bug:
        raise bug.__cause__  # an ordinary exception again, for the pipeline to report as the grader's
    except Flaky:
        if record.example is None:
            raise
        record.flaky = True
    return record


def _check_example(ctx, prop, example, record, budget):
    """Check one example; a failure is recorded, then raised as _Shrink (shrink it) or _Stop (give up)."""
    record.examples += 1
    record.tried.append(example)
    if record.examples > budget:
        record.stopped = True
        raise _Stop
    try:
        verdict = prop.check(ctx, example)
    except _StudentCallFailed as failed:
        record.failed(example, failed.failed.message, failed.failed.failure, failed.failed.reason)
        if failed.stop:
            record.stopped = True
            raise _Stop from None
        raise _Shrink from None
    except Exception as bug:
        raise _GraderBug(f"{prop.name} on {example}") from bug
    if not verdict.passed:
        record.failed(example, verdict.message)
        raise _Shrink


def _property_result(name, record):
    if record.example is None:
        return Outcome(name, PROPERTY_POINTS, True, f"held on {record.examples} generated examples", kind=Kind.PROPERTY)
    which = "generated example" if record.stopped or record.flaky else "shrunk minimal example"
    message = f"{record.message} (on the {which} {record.example.describe()})"
    if record.flaky:
        message += "; the same input passed when run again: does your function keep state between calls?"
    return Outcome(name, PROPERTY_POINTS, False, message, record.failure, kind=Kind.PROPERTY, reason=record.reason)
