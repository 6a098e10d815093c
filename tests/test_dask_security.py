"""A Dask cluster set up as the README says is not open. The certificates are the README's own commands'
(openssl). On a LocalCluster secured with them, grade-class grades as local workers do, and nobody without
a certificate the class CA signed can talk to the scheduler, a worker or a nanny (so nobody can Client.run
code there); the README's `dask scheduler` / `dask worker` / `grade-class` lines, run as written, grade and
finish with no traceback in the scheduler's log; plain text to another host is warned about in one line."""

import asyncio
import csv
import io
import re
import shlex
import shutil
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import pytest

from grader import cli
from grader.classroom.run import plain_text_warning
from notebooks import solution_cells, write_notebook

distributed = pytest.importorskip("distributed")
from distributed.core import rpc  # noqa: E402  (after the skip: dask is an extra)
from distributed.security import Security  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
TASKS = "conv_forward_naive,max_pool_forward_naive"  # cheap; one solved and one stub student differ on both
# The speed ratio is the one figure that depends on the moment (two gradings at once on a loaded machine):
# a budget noise cannot reach, so that the two gradebooks must agree on every other check exactly.
CONFIG_TOML = "[limits]\ntimeout = 3.0\nspeed_budget = 1e6\n"
# Dask serves HTTP (dashboard, health) even without a dashboard, on port 8787 by default: a second cluster
# alive at once would warn that the port is taken, and warnings are errors here.
HTTP_ADDRESS = "127.0.0.1:0"
REFUSE_SECONDS = 5  # a refused client gives up after this (a refusal is immediate; the rest is Dask's retry)


def make_class(root):
    """alice handed in the solutions, bob the untouched notebook."""
    for student in ("alice", "bob"):
        (root / student).mkdir(parents=True)
    write_notebook(root / "alice", *solution_cells())
    shutil.copy(ROOT / "notebooks" / "ConvolutionalNetworks.ipynb", root / "bob")


EXPECTED = [("alice", "18.00", "graded"), ("bob", "0.00", "graded")]  # (student, total, status) per gradebook row


def readme_certificate_recipe():
    """The README's shell block that makes the class CA and the certificates."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```bash\n(.*?)```", readme, flags=re.S)
    return next(block for block in blocks if "ec_paramgen_curve" in block)


def make_certificates(folder):
    """Run the README's recipe in ``folder``; the folder of PEM files it made."""
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed: the README's recipe makes the certificates with it")
    folder.mkdir(parents=True)
    subprocess.run(["sh", "-e", "-c", readme_certificate_recipe()], cwd=folder, check=True, capture_output=True)
    return folder / "dask-tls"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    """The class's certificates, and a second set made the same way by someone else (another CA)."""
    root = tmp_path_factory.mktemp("pki")
    return make_certificates(root / "class"), make_certificates(root / "rogue")


def client_security(ca_folder, cert_folder):
    return Security(
        require_encryption=True,
        tls_ca_file=str(ca_folder / "ca.pem"),
        tls_client_cert=str(cert_folder / "client.pem"),
        tls_client_key=str(cert_folder / "client-key.pem"),
    )


@pytest.fixture(scope="module")
def secured_cluster(pki):
    """A LocalCluster of worker processes started as the README starts the real one: TLS only, a
    certificate per role signed by the class CA."""
    ours, _ = pki
    security = Security(
        require_encryption=True,
        tls_ca_file=str(ours / "ca.pem"),
        tls_scheduler_cert=str(ours / "scheduler.pem"),
        tls_scheduler_key=str(ours / "scheduler-key.pem"),
        tls_worker_cert=str(ours / "worker.pem"),
        tls_worker_key=str(ours / "worker-key.pem"),
        tls_client_cert=str(ours / "client.pem"),
        tls_client_key=str(ours / "client-key.pem"),
    )
    with distributed.LocalCluster(
        processes=True,
        n_workers=1,
        threads_per_worker=1,
        dashboard_address=HTTP_ADDRESS,
        protocol="tls://",
        security=security,
    ) as cluster:
        yield cluster


def tls_options(folder):
    return [
        "--tls-ca-file",
        str(folder / "ca.pem"),
        "--tls-cert",
        str(folder / "client.pem"),
        "--tls-key",
        str(folder / "client-key.pem"),
    ]


def gradebook_without_seconds(out):
    rows = list(csv.reader(io.StringIO((out / "gradebook.csv").read_text())))
    seconds = rows[0].index("seconds")
    return [row[:seconds] + row[seconds + 1 :] for row in rows]


@pytest.mark.slow
def test_grade_class_on_the_secured_cluster_gives_the_gradebook_of_local_workers(
    pki, secured_cluster, tmp_path, capsys
):
    ours, _ = pki
    make_class(tmp_path / "class")
    (tmp_path / "config.toml").write_text(CONFIG_TOML)
    common = ["grade-class", str(tmp_path / "class"), "--tasks", TASKS, "--config", str(tmp_path / "config.toml")]

    assert cli.main([*common, "--out", str(tmp_path / "local"), "-j", "1"]) == cli.EXIT_OK
    capsys.readouterr()
    assert (
        cli.main(
            [
                *common,
                "--out",
                str(tmp_path / "dask"),
                "--scheduler",
                secured_cluster.scheduler_address,
                *tls_options(ours),
            ]
        )
        == cli.EXIT_OK
    )
    err = capsys.readouterr().err
    assert "(TLS)" in err and "warning" not in err
    rows = gradebook_without_seconds(tmp_path / "dask")
    assert rows == gradebook_without_seconds(tmp_path / "local")
    status = rows[0].index("status")
    assert [(row[0], row[1], row[status]) for row in rows[1:]] == EXPECTED


def readme_cluster_commands():
    """The README's commands that start the scheduler, a worker and grade-class, as argument lists."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = next(b for b in re.findall(r"```bash\n(.*?)```", readme, flags=re.S) if "dask scheduler --tls" in b)
    commands = [shlex.split(line, comments=True) for line in block.replace("\\\n", " ").splitlines()]
    return {" ".join(command[:2]): command for command in commands if command}


def started(command, log, ready, seconds=60):
    """``command`` started with its output in ``log``, once ``ready`` appears there."""
    with log.open("w") as output:  # the child writes through its own copy of the descriptor
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + seconds
    while ready not in log.read_text() and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    if ready not in log.read_text():
        process.kill()
        process.wait()
        pytest.fail(f"{command[0]} did not start:\n{log.read_text()}")
    return process


@pytest.mark.slow
def test_the_readme_recipe_step_by_step_grades_and_shuts_out_strangers(pki, tmp_path):
    """The README's own commands (a free port for 8786, the class and out folders substituted): the real
    `dask scheduler` and `dask worker` take the class's certificates, grade-class grades with them, a
    client without them is refused, and the scheduler logs no traceback on the clean finish."""
    ours, _ = pki
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        address = f"tls://127.0.0.1:{free.getsockname()[1]}"
    commands = readme_cluster_commands()
    bin_folder = Path(sys.executable).parent

    def local(command):
        swapped = {
            "tls://HOST:8786": address,
            "127.0.0.1:8787": HTTP_ADDRESS,
            "handins/": str(tmp_path / "class"),
            "results/": str(tmp_path / "out"),
        }
        return [
            str(bin_folder / command[0]),
            *(swapped.get(arg, str(ours / arg) if arg.endswith(".pem") else arg) for arg in command[1:]),
        ]

    scheduler_command = [
        *local(commands["dask scheduler"]),
        "--host",
        "127.0.0.1",
        "--port",
        address.rpartition(":")[2],
    ]
    make_class(tmp_path / "class")
    (tmp_path / "config.toml").write_text(CONFIG_TOML)
    scheduler = started(scheduler_command, tmp_path / "scheduler.log", "Scheduler at")
    try:
        worker = started(local(commands["dask worker"]), tmp_path / "worker.log", "Registered to")
        try:
            graded = subprocess.run(
                [*local(commands["grader grade-class"]), "--tasks", TASKS, "--config", str(tmp_path / "config.toml")],
                capture_output=True,
                text=True,
                timeout=300,
            )
            with pytest.raises(OSError):
                distributed.Client(address, timeout=REFUSE_SECONDS, security=no_certificate())
        finally:
            worker.terminate()
            worker.wait(60)
        time.sleep(1)  # what the scheduler logs about the finished run and the worker's leaving
    finally:
        scheduler.terminate()
        scheduler.wait(60)
    assert graded.returncode == cli.EXIT_OK, graded.stderr
    assert "(TLS)" in graded.stderr and "warning" not in graded.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "out" / "gradebook.csv").read_text())))
    assert [(row["student"], row["total"], row["status"]) for row in rows] == EXPECTED
    log = (tmp_path / "scheduler.log").read_text()
    assert "TLS handshake failed" in log  # the stranger was refused at the handshake, and it says so
    assert "Traceback" not in log and "CommClosedError" not in log


def test_the_scheduler_address_without_a_scheme_means_tls_with_the_tls_options(pki, secured_cluster, tmp_path, capsys):
    ours, _ = pki
    (tmp_path / "class").mkdir()
    address = secured_cluster.scheduler_address.removeprefix("tls://")
    assert (
        cli.main(
            [
                "grade-class",
                str(tmp_path / "class"),
                "--out",
                str(tmp_path / "out"),
                "--scheduler",
                address,
                *tls_options(ours),
            ]
        )
        == cli.EXIT_OK
    )
    err = capsys.readouterr().err
    assert f"tls://{address} (TLS)" in err and "warning" not in err


def test_without_the_tls_options_dask_s_own_configuration_still_applies(pki, secured_cluster, tmp_path, capsys):
    """What worked before still works: certificates named in Dask's configuration (~/.config/dask, DASK_*)."""
    import dask

    ours, _ = pki
    (tmp_path / "class").mkdir()
    settings = {
        "distributed.comm.tls.ca-file": str(ours / "ca.pem"),
        "distributed.comm.tls.client.cert": str(ours / "client.pem"),
        "distributed.comm.tls.client.key": str(ours / "client-key.pem"),
    }
    with dask.config.set(settings):
        assert (
            cli.main(
                [
                    "grade-class",
                    str(tmp_path / "class"),
                    "--out",
                    str(tmp_path / "out"),
                    "--scheduler",
                    secured_cluster.scheduler_address,
                ]
            )
            == cli.EXIT_OK
        )
    err = capsys.readouterr().err
    assert "(TLS)" in err and "warning" not in err


# -- who is refused ------------------------------------------------------------------------------------


class HandMadeContext(Security):
    """The client side of a TLS connection as an attacker configures it (Dask's Security builds no context
    without a certificate)."""

    __slots__ = ("context",)

    def __init__(self, context):
        super().__init__(require_encryption=True)
        self.context = context

    def get_connection_args(self, role):
        return {"ssl_context": self.context, "require_encryption": True, "extra_conn_args": {}}


def no_certificate():
    """TLS that checks nothing and presents no certificate."""
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return HandMadeContext(context)


def every_endpoint(cluster):
    """The scheduler's address and every worker's and nanny's: each one takes orders."""
    info = cluster.scheduler_info
    workers = info["workers"]
    return [
        cluster.scheduler_address,
        *workers,
        *(worker["nanny"] for worker in workers.values() if worker.get("nanny")),
    ]


def identity(address, security):
    """Ask the server at ``address`` who it is over Dask's protocol: what any command needs first."""

    async def ask():
        async with rpc(
            address, timeout=REFUSE_SECONDS, connection_args=security.get_connection_args("client")
        ) as server:
            return await server.identity()

    return asyncio.run(ask())


def as_plain_tcp(address):
    return "tcp://" + address.partition("://")[2]


def test_the_class_client_certificate_can_talk_to_every_endpoint(pki, secured_cluster):
    """The control of the refusals below: the same requests with the class's certificate are answered."""
    ours, _ = pki
    endpoints = every_endpoint(secured_cluster)
    assert len(endpoints) == 3 and all(address.startswith("tls://") for address in endpoints)
    for address in endpoints:
        assert identity(address, client_security(ours, ours))["type"] in ("Scheduler", "Worker", "Nanny")
    with distributed.Client(secured_cluster.scheduler_address, security=client_security(ours, ours)) as client:
        assert set(client.run(lambda: "ran").values()) == {"ran"}


@pytest.mark.parametrize("attacker", ["plain tcp", "tls without a certificate"])
def test_a_client_without_the_certificates_cannot_connect_nor_run_code_on_the_workers(secured_cluster, attacker):
    address = secured_cluster.scheduler_address
    security = no_certificate() if attacker != "plain tcp" else None
    target = as_plain_tcp(address) if attacker == "plain tcp" else address
    with pytest.raises(OSError):  # CommClosedError and Dask's connection timeout are OSErrors
        distributed.Client(target, timeout=REFUSE_SECONDS, security=security)
    for endpoint in every_endpoint(secured_cluster):
        with pytest.raises(OSError):
            identity(as_plain_tcp(endpoint) if attacker == "plain tcp" else endpoint, security or Security())


@pytest.mark.parametrize("trusting", ["the class CA", "its own CA"])
def test_a_client_whose_certificate_another_ca_signed_is_refused(pki, secured_cluster, trusting):
    ours, rogue = pki
    security = client_security(ours if trusting == "the class CA" else rogue, rogue)
    with pytest.raises(OSError):
        distributed.Client(secured_cluster.scheduler_address, timeout=REFUSE_SECONDS, security=security)
    for endpoint in every_endpoint(secured_cluster):
        with pytest.raises(OSError):
            identity(endpoint, security)


def test_grade_class_refuses_a_scheduler_whose_certificate_the_class_ca_did_not_sign(
    pki, secured_cluster, tmp_path, capsys
):
    _, rogue = pki  # grade-class trusts the rogue CA: the class scheduler is the stranger here
    (tmp_path / "class").mkdir()
    assert (
        cli.main(
            [
                "grade-class",
                str(tmp_path / "class"),
                "--out",
                str(tmp_path / "out"),
                "--scheduler",
                secured_cluster.scheduler_address,
                *tls_options(rogue),
            ]
        )
        == cli.EXIT_USAGE
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "cannot reach the Dask scheduler" in err[0]


# -- options at the door -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "argv, says",
    [
        (["--tls-cert", "client.pem"], "--tls-cert also needs --tls-ca-file"),
        (["--tls-ca-file", "ca.pem", "--tls-key", "client-key.pem"], "also need --tls-cert"),
        (
            [
                "--scheduler",
                "tcp://127.0.0.1:1",
                "--tls-ca-file",
                "ca.pem",
                "--tls-cert",
                "client.pem",
                "--tls-key",
                "client-key.pem",
            ],
            "is tcp://",
        ),
    ],
)
def test_incomplete_or_contradictory_tls_options_are_one_line_usage_errors(tmp_path, capsys, argv, says, pki):
    ours, _ = pki
    argv = [str(ours / arg) if arg.endswith(".pem") else arg for arg in argv]
    argv = argv if "--scheduler" in argv else ["--scheduler", "127.0.0.1:1", *argv]
    assert cli.main(["grade-class", str(tmp_path), "--out", str(tmp_path / "out"), *argv]) == cli.EXIT_USAGE
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and says in err[0]


def test_tls_options_without_a_scheduler_or_with_unusable_files_are_usage_errors(tmp_path, capsys, pki):
    ours, _ = pki
    base = ["grade-class", str(tmp_path), "--out", str(tmp_path / "out")]
    assert cli.main([*base, *tls_options(ours)]) == cli.EXIT_USAGE
    assert (
        cli.main(
            [
                *base,
                "--scheduler",
                "127.0.0.1:1",
                "--tls-ca-file",
                str(ours / "client-key.pem"),
                "--tls-cert",
                str(ours / "client.pem"),
            ]
        )
        == cli.EXIT_USAGE
    )
    assert (
        cli.main(
            [
                *base,
                "--scheduler",
                "127.0.0.1:1",
                "--tls-ca-file",
                str(ours / "ca.pem"),
                "--tls-cert",
                str(ours / "client.pem"),
                "--tls-key",
                str(ours / "worker-key.pem"),
            ]
        )
        == cli.EXIT_USAGE
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 3 and "add --scheduler" in err[0] and all("cannot use the TLS files" in line for line in err[1:])


# -- the warning for plain TCP to another host ---------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    [
        "tcp://192.0.2.7:8786",
        "192.0.2.7:8786",
        "ws://10.1.2.3:8786",
        "tcp://[2001:db8::1]:8786",
        "tcp://no-such-host.invalid:8786",
    ],
)
def test_plain_text_to_another_host_is_warned_about_in_one_line(address):
    warning = plain_text_warning([address])
    assert warning.startswith("warning:") and address in warning and "TLS" in warning and "\n" not in warning


@pytest.mark.parametrize(
    "address",
    [
        "tcp://127.0.0.1:8786",
        "127.0.0.1:8786",
        "localhost:8786",
        "tcp://[::1]:8786",
        "tls://192.0.2.7:8786",
        "tls://no-such-host.invalid:8786",
        "inproc://192.0.2.7/1/2",
    ],
)
def test_loopback_and_tls_addresses_are_not_warned_about(address):
    assert plain_text_warning([address]) == ""


def this_machines_address():
    """A non-loopback address of this machine, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: this only picks the outgoing interface
            host = probe.getsockname()[0]
        except OSError:
            return None
    return None if host.startswith("127.") or host == "0.0.0.0" else host


@pytest.mark.parametrize("reached_at", ["the machine's address", "127.0.0.1"])
def test_grade_class_warns_on_stderr_about_an_open_cluster_on_the_network_and_still_grades(
    tmp_path, capsys, reached_at
):
    host = this_machines_address()
    if host is None:
        pytest.skip("this machine has no network address other than loopback")
    (tmp_path / "class").mkdir()
    with distributed.LocalCluster(
        host="0.0.0.0",
        protocol="tcp://",
        processes=False,
        n_workers=1,
        threads_per_worker=1,
        dashboard_address=HTTP_ADDRESS,
    ) as cluster:
        port = cluster.scheduler_address.rpartition(":")[2]
        address = f"tcp://{host}:{port}" if reached_at != "127.0.0.1" else f"tcp://127.0.0.1:{port}"
        assert (
            cli.main(["grade-class", str(tmp_path / "class"), "--out", str(tmp_path / "out"), "--scheduler", address])
            == cli.EXIT_OK
        )
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    # reached at 127.0.0.1, the scheduler still listens on (and reports) the network address: warned too
    assert len(warnings) == 1 and warnings[0].startswith("grader: warning: the Dask cluster is reached in plain text")


def test_grade_class_is_quiet_about_a_cluster_on_loopback_only(tmp_path, capsys):
    (tmp_path / "class").mkdir()
    with distributed.LocalCluster(
        host="127.0.0.1",
        protocol="tcp://",
        processes=False,
        n_workers=1,
        threads_per_worker=1,
        dashboard_address=HTTP_ADDRESS,
    ) as cluster:
        assert (
            cli.main(
                [
                    "grade-class",
                    str(tmp_path / "class"),
                    "--out",
                    str(tmp_path / "out"),
                    "--scheduler",
                    cluster.scheduler_address,
                ]
            )
            == cli.EXIT_OK
        )
    assert "warning" not in capsys.readouterr().err
