# Gain privileges through setuid binaries (no_new_privs must make them run as the sandbox's uid).
import json
import os
import subprocess

PROGRAMS = (["mount", "-t", "tmpfs", "none", "."], ["umount", "/proc"], ["newgrp", "root"], ["su", "-c", "id -u"],
            ["sudo", "-n", "id", "-u"], ["passwd", "-S", "root"], ["chfn", "-f", "attack"])


def conv_forward_naive(x, w, b, conv_param):
    managed, tried = [], 0
    for argv in PROGRAMS:
        for folder in ("/usr/bin", "/bin", "/usr/sbin"):
            path = os.path.join(folder, argv[0])
            if not os.path.exists(path):
                continue
            tried += 1
            try:
                done = subprocess.run([path, *argv[1:]], capture_output=True, timeout=5, input=b"", env={})
            except (OSError, subprocess.SubprocessError):
                break
            out = (done.stdout + done.stderr).decode(errors="replace")
            if done.returncode == 0 and (argv[0] in ("mount", "umount", "chfn") or out.strip().startswith("0")):
                managed.append(f"{argv[0]}: {out.strip()[:60]}")
            break
    if os.geteuid() == 0 or os.getuid() == 0:
        managed.append("running as root")
    raise RuntimeError(f"tried {tried}; MANAGED {json.dumps(managed)}")
