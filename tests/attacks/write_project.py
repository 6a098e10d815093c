import os

import assignment


def conv_forward_naive(x, w, b, conv_param):
    targets = [os.path.join(os.path.dirname(assignment.__file__), "layers.py"), "/work/main/grader/compare.py"]
    targets += [p for p in (os.environ.get("ATTACK_TARGET"),) if p]
    for path in targets:
        try:
            with open(path, "a") as handle:
                handle.write("\n# tampered\n")
        except OSError:
            pass
    raise RuntimeError("tried to write into the project")
