# A correct convolution 60 times over, done by a short-lived child the kernel reaps by itself (SIGCHLD
# ignored: its CPU never reaches cutime) while the fork's thread yields its CPU to it on one core (its
# run time becomes the fork's waiting for a CPU): the speed point must still be lost.
import mmap, os, pickle, signal, struct
import numpy as np

def _conv_once(x, w, b, conv_param):
    s, p = conv_param['stride'], conv_param['pad']
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    Ho, Wo = 1 + (H + 2 * p - HH) // s, 1 + (W + 2 * p - WW) // s
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    out = np.zeros((N, F, Ho, Wo), dtype=np.result_type(x, w, b))
    for n in range(N):
        for f in range(F):
            for i in range(Ho):
                for j in range(Wo):
                    out[n, f, i, j] = np.sum(xp[n, :, i*s:i*s+HH, j*s:j*s+WW] * w[f]) + b[f]
    return out

SLOWDOWN = 60

def _slow(x, w, b, conv_param):
    for _ in range(SLOWDOWN):
        out = _conv_once(x, w, b, conv_param)
    return out

def _offloaded(function, *args):
    """function(*args) computed in a short-lived child process that the work clock never sees."""
    shared = mmap.mmap(-1, 64 << 20)
    old = signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # auto-reap: the child's CPU never reaches cutime
    allowed = os.sched_getaffinity(0)
    os.sched_setaffinity(0, {min(allowed)})              # inherited: child and fork share one CPU
    pid = os.fork()
    if pid == 0:
        try:
            data = pickle.dumps(function(*args))
            shared[8:8 + len(data)] = data
            shared[0:8] = struct.pack("q", len(data))
        finally:
            os._exit(0)
    while shared[0:8] == b"\0" * 8:                      # runnable, never running: counted as waiting for a CPU
        os.sched_yield()
    try:
        os.waitpid(pid, 0)                               # returns once the child is gone (ECHILD)
    except ChildProcessError:
        pass
    os.sched_setaffinity(0, allowed)
    signal.signal(signal.SIGCHLD, old)
    (size,) = struct.unpack("q", shared[0:8])
    value = pickle.loads(shared[8:8 + size])
    shared.close()
    return value

def conv_forward_naive(x, w, b, conv_param):
    return _offloaded(_slow, x, w, b, conv_param), (x, w, b, conv_param)
