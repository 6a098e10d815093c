import os

_reference_backward = conv_backward_naive
_reference_pool_forward = max_pool_forward_naive
_reference_pool_backward = max_pool_backward_naive

MARKER = "left-locked-by-conv-backward"


def _places():
    # The work folder and, under bubblewrap, /tmp (in the fallback /tmp is the machine's: the work folder only).
    places = {os.getcwd(), os.environ.get("HOME", os.getcwd())}
    if os.path.isdir("/sandbox/work"):
        places.add("/tmp")
    return sorted(places)


def _left_behind():
    return any(os.path.lexists(os.path.join(place, MARKER)) for place in _places())


def conv_backward_naive(dout, cache):
    # Folders their owner cannot read, write or enter (mode 000), holding files: whoever empties the folder
    # must unlock them first. Three levels deep, each locked after the level below it was filled.
    for place in _places():
        try:
            top = os.path.join(place, MARKER)
            inner = os.path.join(top, "inner", "innermost")
            os.makedirs(inner, exist_ok=True)
            for folder in (inner, os.path.dirname(inner), top):
                with open(os.path.join(folder, "data"), "w") as handle:
                    handle.write("x" * 1000)
                os.chmod(folder, 0)
        except OSError:
            pass
    return _reference_backward(dout, cache)


# The pool functions answer wrongly if another task's locked folders are still there.
def max_pool_forward_naive(x, pool_param):
    out, cache = _reference_pool_forward(x, pool_param)
    return (out + 1 if _left_behind() else out), cache


def max_pool_backward_naive(dout, cache):
    dx = _reference_pool_backward(dout, cache)
    return dx + 1 if _left_behind() else dx
