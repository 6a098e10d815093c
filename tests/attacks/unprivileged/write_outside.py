# Write outside the work folder: the machine's shared folders, the stage, numpy, the copies of the standard
# library, the work folder's parent; swap the work folder for a link; hard-link root's files into it.
import json
import os
import sys


def conv_forward_naive(x, w, b, conv_param):
    work = os.getcwd()
    stage = sys.path[0]
    import numpy
    numpy_dir = os.path.dirname(numpy.__file__)
    stdlib = os.path.dirname(os.__file__)
    managed, tried = [], 0

    def attempt(what, action):
        nonlocal tried
        tried += 1
        try:
            action()
            managed.append(what)
        except OSError:
            pass

    for folder in ("/tmp", "/var/tmp", "/dev/shm", "/dev/mqueue", os.path.dirname(work), stage, numpy_dir, stdlib, "/"):
        path = os.path.join(folder, "attack-was-here")
        attempt(f"create {path}", lambda path=path: os.close(os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o644)))
        attempt(f"mkdir in {folder}", lambda folder=folder: os.mkdir(os.path.join(folder, "attack-dir")))
    for path in (os.path.join(stage, "worker.py"), os.path.join(stage, "confine.json"), numpy.__file__, os.__file__):
        attempt(f"append to {path}", lambda path=path: open(path, "ab").close())
        attempt(f"chmod {path}", lambda path=path: os.chmod(path, 0o666))
        attempt(f"hard-link {path}", lambda path=path: os.link(path, os.path.join(work, "linked")))
        attempt(f"utime {path}", lambda path=path: os.utime(path))
    attempt("chmod the stage", lambda: os.chmod(stage, 0o777))
    attempt("rename the work folder", lambda: os.rename(work, work + "-moved"))
    attempt("write /proc/self/oom_score_adj", lambda: open("/proc/self/oom_score_adj", "w").write("-1000"))
    if os.readlink("/proc/self/fd/1") != "/dev/null":  # a file the forks share would carry state between tasks
        attempt("reopen fd 1 for reading", lambda: open("/proc/self/fd/1", "rb").close())
    raise RuntimeError(f"tried {tried}; MANAGED {json.dumps(managed[:10])}")
