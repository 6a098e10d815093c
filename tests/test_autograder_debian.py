"""The autograder zip on a Debian 12 (bookworm) root, as Gradescope runs it: setup.sh once, as root, with
internet; then run_autograder per submission, from /autograder. Debian 12's python3 is 3.11.2, older than
the instructor's, which is where a zip pinning the instructor's whole environment failed to install.

Opt-in (several minutes: apt and PyPI installs): GRADER_TEST_DEBOOTSTRAP=1 builds the root with
debootstrap into GRADER_TEST_DEBOOTSTRAP_CACHE (default /tmp/grader-debian-bookworm) and reuses it on
later runs; or GRADER_TEST_DEBIAN_ROOT names a root prepared beforehand. Either root is left untouched:
the test works on an overlay of it (or a copy where overlayfs cannot be mounted). Needs root (chroot,
mount) and the network; skipped with the reason otherwise.
"""

import json
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

import pytest

from grader.bundles import STUB_NOTEBOOK
from grader.bundles.autograder import build_autograder
from grader.solve import solve

pytestmark = pytest.mark.slow

ROOT_VARIABLE = "GRADER_TEST_DEBIAN_ROOT"
BUILD_VARIABLE = "GRADER_TEST_DEBOOTSTRAP"
CACHE = Path(os.environ.get("GRADER_TEST_DEBOOTSTRAP_CACHE") or "/tmp/grader-debian-bookworm")
MIRROR = "http://deb.debian.org/debian"
DEBOOTSTRAP_SECONDS = 1800
SETUP_SECONDS = 1800  # apt-get and pip over the network
GRADE_SECONDS = 900
CHROOT_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LANG": "C.UTF-8",
}


def pristine_root():
    """The Debian 12 root to start from: the one named by ROOT_VARIABLE, or CACHE (debootstrapped once)."""
    given = os.environ.get(ROOT_VARIABLE)
    if os.geteuid() != 0:
        pytest.skip("chroot and mount need root")
    if given:
        if not (Path(given) / "etc" / "debian_version").is_file():
            pytest.fail(f"{ROOT_VARIABLE}={given}: not a Debian root (no etc/debian_version)")
        return Path(given)
    if os.environ.get(BUILD_VARIABLE) != "1":
        pytest.skip(
            f"opt-in: {BUILD_VARIABLE}=1 to debootstrap a Debian 12 root (cached in {CACHE}), or "
            f"{ROOT_VARIABLE}=DIR for a prepared one"
        )
    if (CACHE / "etc" / "debian_version").is_file():
        return CACHE
    if shutil.which("debootstrap") is None:
        pytest.skip("debootstrap is not installed (apt-get install debootstrap)")
    partial = CACHE.with_name(CACHE.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    finished = subprocess.run(
        ["debootstrap", "--variant=minbase", "bookworm", str(partial), MIRROR],
        capture_output=True,
        text=True,
        timeout=DEBOOTSTRAP_SECONDS,
    )
    if finished.returncode != 0:
        last = (finished.stderr.strip() or finished.stdout.strip() or "no message").splitlines()[-1]
        pytest.skip(f"debootstrap cannot run here: {last}")
    partial.rename(CACHE)
    return CACHE


def _run(command, timeout=60):
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout)


def working_root(pristine, scratch):
    """A writable view of ``pristine``: an overlay mount, or a copy where overlayfs is not available."""
    merged, upper, work = scratch / "root", scratch / "upper", scratch / "work"
    for folder in (merged, upper, work):
        folder.mkdir()
    options = f"lowerdir={pristine},upperdir={upper},workdir={work}"
    if _run(["mount", "-t", "overlay", "overlay", "-o", options, str(merged)]).returncode == 0:
        return merged, [merged]
    merged.rmdir()
    subprocess.run(["cp", "-a", str(pristine), str(merged)], check=True, timeout=600)
    return merged, []


def mount_system(root):
    """/proc and /dev (and /sys where it can be mounted) inside ``root``; returns what to unmount, innermost first."""
    mounted = []
    for command, target in (
        (["mount", "-t", "proc", "proc"], root / "proc"),
        (["mount", "--rbind", "/dev"], root / "dev"),
        (["mount", "-t", "sysfs", "sysfs"], root / "sys"),
    ):
        if _run(command + [str(target)]).returncode == 0:
            mounted.append(target)
        elif target.name != "sys":
            pytest.skip(f"cannot mount {target.name} in the chroot")
    shutil.copyfile("/etc/resolv.conf", root / "etc" / "resolv.conf")  # names for apt and pip
    return mounted


def network_env(root):
    """The chroot's share of this machine's network setup: where pip is told to trust a certificate bundle
    of this machine's (PIP_CERT: a proxy's own authority, say), the bundle is copied into the root and pip
    there trusts it too. Gradescope's image reaches PyPI directly and needs none of this."""
    bundle = os.environ.get("PIP_CERT")
    if not bundle or not Path(bundle).is_file():
        return {}
    shutil.copyfile(bundle, root / "etc" / "host-ca-bundle.crt")
    return {"PIP_CERT": "/etc/host-ca-bundle.crt"}


def chroot(root, script, timeout, env=None):
    """Run the shell ``script`` as root inside ``root``, from /autograder; returns (finished, seconds)."""
    start = time.monotonic()
    finished = subprocess.run(
        ["chroot", str(root), "/bin/bash", "-c", f"cd /autograder && {script}"],
        env={**CHROOT_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return finished, time.monotonic() - start


@pytest.fixture(scope="module")
def debian(tmp_path_factory):
    """A Debian 12 root with the autograder set up by its own setup.sh, as Gradescope builds its image."""
    pristine = pristine_root()
    scratch = tmp_path_factory.mktemp("debian")
    root, overlays = working_root(pristine, scratch)
    mounted = []
    try:
        mounted = mount_system(root)
        zip_path = build_autograder(scratch / "autograder.zip").zip_path
        source = root / "autograder" / "source"
        source.mkdir(parents=True)
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(source)
        (source / "setup.sh").chmod(0o755)
        finished, seconds = chroot(root, "bash /autograder/source/setup.sh", SETUP_SECONDS, network_env(root))
        print(f"\n--- setup.sh: exit {finished.returncode} in {seconds:.0f} s; zip {zip_path.stat().st_size >> 10} KiB")
        print("\n".join((finished.stdout + finished.stderr).strip().splitlines()[-12:]))
        assert finished.returncode == 0, finished.stderr[-3000:]
        shutil.copyfile(source / "run_autograder", root / "autograder" / "run_autograder")  # as Gradescope does
        (root / "autograder" / "run_autograder").chmod(0o755)
        yield root
    finally:
        for target in reversed(mounted):
            _run(["umount", "-R", "-l", str(target)])
        for target in overlays:
            _run(["umount", "-l", str(target)])


def run_submission(root, notebook_bytes):
    """Gradescope's run of one submission: a fresh submission/ and results/, then run_autograder."""
    for folder in ("submission", "results"):
        shutil.rmtree(root / "autograder" / folder, ignore_errors=True)
        (root / "autograder" / folder).mkdir()
    (root / "autograder" / "submission" / "ConvolutionalNetworks.ipynb").write_bytes(notebook_bytes)
    finished, seconds = chroot(root, "./run_autograder", GRADE_SECONDS)
    print(f"\n--- run_autograder: exit {finished.returncode} in {seconds:.0f} s")
    print((finished.stdout + finished.stderr).strip())
    assert finished.returncode == 0, finished.stderr[-3000:]
    results = json.loads((root / "autograder" / "results" / "results.json").read_text(encoding="utf-8"))
    print(f"score {results['score']}; output {results.get('output')!r}; extra_data {results.get('extra_data')}")
    return results


def test_on_debian_12_setup_installs_and_a_solved_notebook_scores_100(debian, tmp_path):
    python = _run(["chroot", str(debian), "python3", "--version"]).stdout.strip()
    assert python.startswith("Python 3.11."), python
    results = run_submission(debian, solve(STUB_NOTEBOOK, tmp_path / "solved.ipynb").read_bytes())
    assert results["score"] == pytest.approx(100)
    assert results["tests"] and all(test["status"] == "passed" for test in results["tests"])
    assert "isolation" not in results["output"]
    for folder in ("source", "results"):
        info = (debian / "autograder" / folder).stat()
        assert info.st_uid == 0 and info.st_mode & 0o077 == 0, folder


def test_on_debian_12_the_stub_notebook_scores_0(debian):
    results = run_submission(debian, STUB_NOTEBOOK.read_bytes())
    assert results["score"] == 0 and results["tests"]
    assert all(test["status"] == "failed" for test in results["tests"])
