"""Hostile programs, run for real in the bubblewrap sandbox.

Each must be contained: the right verdict, the host untouched (files, environment, listeners,
processes) and this process alive. Nothing here depends on how fast the machine is: a program
the clock stops says `timeout`, one stopped by anything else says what stopped it.
"""

import contextlib
import os
import pwd
import random
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.filters.sandbox import DEFAULT_UID, Sandbox, SandboxLimits

TIMEOUT = 2.0
# How long the kernel may take to tear a killed PID namespace down (~1.5 s idle): a bound for a
# hang, never reached by a passing test however loaded the machine.
TEARDOWN = 60.0


LIMITS = {"memory_bytes": 512 << 20, "output_bytes": 256 << 10, "nproc": 16}


@pytest.fixture(scope="module")
def sandbox(bwrap_available):
    """For programs that must be stopped by anything but the clock: a generous wall timeout, so a
    busy CI machine cannot turn their verdict into a spurious `timeout`."""
    return Sandbox(SandboxLimits(timeout=20.0, **LIMITS))


@pytest.fixture(scope="module")
def quick(bwrap_available):
    """For programs that only the clock stops."""
    return Sandbox(SandboxLimits(timeout=TIMEOUT, **LIMITS))


def run(sandbox, code):
    result = sandbox.run(code)
    if result.reason == "timeout":  # the clock never fires early, however fast the program ran
        assert result.seconds >= sandbox.limits.timeout
    return result


@pytest.fixture
def own_uid(bwrap_available):
    """A uid no account and no process has, for one test: every process of it is then one of that
    test's sandboxed programs, so "none left" is an exact check."""
    if os.geteuid() != 0:
        pytest.skip("only root runs the sandbox as a uid of its own")
    taken = {entry.pw_uid for entry in pwd.getpwall()}
    uid = random.randrange(1 << 20, 1 << 30)
    while uid in taken or processes_of_uid(uid):
        uid = random.randrange(1 << 20, 1 << 30)
    yield uid
    for pid in processes_of_uid(uid):  # what a failing test left behind
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def host_pids_with(marker: str) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if marker.encode() in (entry / "cmdline").read_bytes():
                    pids.append(int(entry.name))
            except OSError:
                pass
    return pids


def processes_of_uid(uid: int) -> list[int]:
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            for line in status.splitlines():
                if line.startswith("Uid:") and int(line.split()[1]) == uid:
                    pids.append(int(entry.name))
    return pids


def wait_until(condition, what: str):
    # the kernel tears a PID namespace down asynchronously
    deadline = time.monotonic() + TEARDOWN
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def assert_no_process_with(marker: str):
    wait_until(lambda: host_pids_with(marker) == [], f"processes with {marker} left")


# -- plain verdicts ------------------------------------------------------------------------------
def test_clean_program_runs_and_its_output_is_kept(sandbox):
    res = run(sandbox, "print(sum(range(10)))")
    assert res.ok and res.reason is None and res.stdout == b"45\n"


def test_exception_class_is_the_reason(sandbox):
    assert run(sandbox, "{}['missing']").reason == "runtime_error:KeyError"
    assert run(sandbox, "import json\njson.loads('{')").reason == "runtime_error:JSONDecodeError"
    assert run(sandbox, "raise SystemExit(3)").reason == "runtime_error:SystemExit"
    assert run(sandbox, "raise SystemExit(0)").ok


def test_syntax_errors_are_not_runtime_errors(sandbox):
    assert run(sandbox, "def f(:\n  pass").reason == "syntax_error"
    assert run(sandbox, "if True:\nprint(1)").reason == "syntax_error"  # IndentationError
    assert run(sandbox, "eval('1 +')").reason == "runtime_error:SyntaxError"  # raised while running


def test_runs_as_a_uid_no_account_has(sandbox):
    """Not `nobody`, which host daemons share: every process of the sandbox's uid is a sandbox's."""
    with pytest.raises(KeyError):
        pwd.getpwuid(DEFAULT_UID)
    assert sandbox.uid == DEFAULT_UID
    if os.geteuid() == 0:
        assert run(sandbox, "import os\nprint(os.getuid())").stdout == f"{DEFAULT_UID}\n".encode()
    for uid in (0, -1, 2**32 - 1):
        with pytest.raises(ConfigError, match="unprivileged uid"):
            Sandbox(uid=uid)


# -- the scientific stack ------------------------------------------------------------------------
@pytest.mark.usefixtures("scientific_stack")
def test_matplotlib_draws_headless_into_the_work_dir(sandbox):
    """No display, no writable home of the host: the Agg backend, its config and font cache in /tmp."""
    code = (
        "import os, matplotlib.pyplot as plt\n"
        "plt.plot([0, 1, 2], [0, 1, 4])\n"
        "plt.title('no display needed')\n"
        "plt.savefig('plot.png')\n"
        "print(plt.get_backend(), open('plot.png', 'rb').read(4), *os.listdir('/tmp/.matplotlib'))\n"
    )
    res = run(sandbox, code)
    assert res.ok, res.stderr
    backend, magic, *config = res.stdout.decode().split()
    assert (backend, magic) == ("agg", "b'\\x89PNG'") and config[0].startswith("fontlist")
    assert b"Fontconfig error" not in res.stderr


@pytest.mark.usefixtures("scientific_stack")
def test_numerical_libraries_compute_on_one_thread():
    """A BLAS pool of one thread per core would meet the process cap: with room for no thread beside
    the program itself (bwrap's PID 1 and python), numpy still imports and multiplies."""
    sandbox = Sandbox(SandboxLimits(timeout=20.0, memory_bytes=512 << 20, nproc=2))
    code = "import numpy as np, os\na = np.ones((300, 300))\nprint((a @ a)[0, 0], len(os.listdir('/proc/self/task')))"
    res = run(sandbox, code)
    assert res.ok and res.stdout == b"300.0 1\n", res.stderr


def test_every_absent_import_is_reported(sandbox):
    """Python stops at the first missing module; the others the source imports are reported too,
    except optional imports inside try blocks, relative imports and modules that exist."""
    code = (
        "import json\n"
        "try:\n    import optional_speedup_xyz\nexcept ImportError:\n    pass\n"
        "import absent_first_xyz\n"
        "from absent_second_xyz.sub import thing\n"
        "def later():\n    import absent_third_xyz, absent_first_xyz, os.path\n"
        "    from . import sibling\n"
    )
    res = run(sandbox, code)
    assert res.reason == "runtime_error:ModuleNotFoundError"
    assert res.missing == ("absent_first_xyz", "absent_second_xyz", "absent_third_xyz")
    assert run(sandbox, "import json.nothing_here").missing == ()  # a package it has lacks that part
    assert run(sandbox, "raise ModuleNotFoundError('by hand')").missing == ()
    assert run(sandbox, "1 / 0").missing == ()


def test_knows_the_standard_library_of_its_interpreter(sandbox):
    sandbox.check()
    assert {"json", "tkinter", "sqlite3", "turtle"} <= sandbox.stdlib_modules
    assert "numpy" not in sandbox.stdlib_modules


def test_packages_must_be_under_usr():
    with pytest.raises(ConfigError, match="under /usr"):
        Sandbox(packages=("/usr/lib/python3/dist-packages", "/work/venv/lib/python3.11/site-packages"))
    with pytest.raises(ConfigError, match="under /usr"):
        Sandbox(packages=("/usr/../root",))


# -- resources ------------------------------------------------------------------------------------
@pytest.mark.parametrize("drop_root_with", ["setpriv", "subprocess"])
@pytest.mark.usefixtures("bwrap_available")
def test_fork_storm_is_capped_by_nproc(drop_root_with):
    """RLIMIT_NPROC binds only an unprivileged host uid (as root this storm reached 200 forks), so both
    ways of leaving root must work: setpriv (the default) and subprocess's user= (without setpriv)."""
    sandbox = Sandbox(SandboxLimits(timeout=20.0, **LIMITS))
    if drop_root_with == "subprocess":
        sandbox.setpriv = None
    code = (
        "import os, time\nn = 0\n"
        "while True:\n"
        "    if os.fork() == 0:\n        time.sleep(30)\n        os._exit(0)\n"
        "    n += 1\n"
        "    print(n, flush=True)\n"
    )
    res = run(sandbox, code)
    assert res.reason == "runtime_error:BlockingIOError"
    assert int(res.stdout.split()[-1]) < 16  # RLIMIT_NPROC held, counted inside this sandbox only


def test_fork_bomb_that_swallows_errors_times_out(own_uid):
    sandbox = Sandbox(SandboxLimits(timeout=TIMEOUT, **LIMITS), uid=own_uid)
    res = run(
        sandbox, "import os\nwhile True:\n    try:\n        os.fork()\n    except OSError:\n        pass\n"
    )
    assert res.reason == "timeout"
    wait_until(lambda: processes_of_uid(own_uid) == [], "fork bomb survived its timeout")


def test_memory_hog(sandbox):
    assert run(sandbox, "x = bytearray(8 << 30)").reason == "memory"
    assert run(sandbox, "a = []\nwhile True:\n    a.append(bytearray(32 << 20))").reason == "memory"


def test_infinite_loop(quick):
    assert run(quick, "while True:\n    pass").reason == "timeout"


def test_sleep_that_ignores_sigterm(quick):
    code = "import signal, time\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\ntime.sleep(3600)"
    assert run(quick, code).reason == "timeout"


def test_gigabytes_of_output(sandbox):
    res = run(sandbox, "import sys\nwhile True:\n    sys.stdout.write('x' * 65536)")
    assert res.reason == "output_limit"  # the byte cap stopped it, not the clock
    assert len(res.stdout) <= 256 << 10
    assert run(sandbox, "import os\nwhile True:\n    os.write(2, b'e' * 65536)").reason == "output_limit"


def test_huge_file_and_full_work_dir(sandbox):
    res = run(sandbox, "open('big', 'wb').write(b'x' * (64 << 20))")
    assert res.reason == "runtime_error:OSError" and b"File too large" in res.stderr
    fill = "i = 0\nwhile True:\n    open(f'f{i}', 'wb').write(b'x' * (8 << 20))\n    i += 1"
    res = run(sandbox, fill)
    assert res.reason == "runtime_error:OSError" and b"No space left" in res.stderr


def test_segfault(sandbox):
    res = run(sandbox, "import ctypes\nctypes.string_at(0)")
    assert res.reason == "killed" and res.error == "SIGSEGV"


def test_runaway_recursion(sandbox, quick):
    assert run(sandbox, "def f():\n    return f()\nf()").reason == "runtime_error:RecursionError"
    # with the guard lifted, frames pile up until the address-space limit, a stack overflow or the clock
    deep = "import sys\nsys.setrecursionlimit(10**9)\ndef f(n):\n    return f(n + 1)\nf(0)"
    assert run(quick, deep).reason in ("killed", "memory", "timeout")


# -- the host stays untouched ---------------------------------------------------------------------
def test_writes_outside_the_work_dir_never_reach_the_host(sandbox, tmp_path):
    # invisible folders do not exist inside; /usr is there, read-only
    missing = ("runtime_error:FileNotFoundError", b"No such file or directory")
    for path, (reason, why) in (
        (tmp_path / "escaped.txt", missing),
        (Path("/usr/cosmo_escape.txt"), ("runtime_error:OSError", b"Read-only file system")),
        (Path("/root/cosmo_escape.txt"), missing),
    ):
        res = run(sandbox, f"open({str(path)!r}, 'w').write('pwned')")
        assert res.reason == reason and why in res.stderr, path
        assert not path.exists()
    # /tmp and /dev/shm inside are private tmpfs: writing works there, and nothing appears here
    name = f"cosmo-{uuid.uuid4().hex}"
    res = run(
        sandbox, f"for d in ('/tmp', '/dev/shm'):\n    open(d + '/{name}', 'w').write('x')\nprint('done')"
    )
    assert res.ok and res.stdout == b"done\n"
    assert not Path("/tmp", name).exists() and not Path("/dev/shm", name).exists()


def test_host_home_and_root_are_invisible(sandbox, tmp_path, monkeypatch):
    secret = uuid.uuid4().hex
    home = tmp_path / "home"
    home.mkdir()
    (home / "secret.txt").write_text(secret)
    monkeypatch.setenv("HOME", str(home))
    code = f"print(open({str(home / 'secret.txt')!r}).read())"
    assert run(sandbox, code).reason == "runtime_error:FileNotFoundError"
    res = run(sandbox, "import os\nprint(open(os.path.expanduser('~/secret.txt')).read())")
    assert res.reason == "runtime_error:FileNotFoundError" and secret.encode() not in res.stdout
    if os.geteuid() == 0 and Path("/root").is_dir():
        marker = Path("/root") / f".cosmo-test-{secret}"
        marker.write_text(secret)
        try:
            res = run(sandbox, f"print(open({str(marker)!r}).read())")
            assert res.reason == "runtime_error:FileNotFoundError" and secret.encode() not in res.stdout
            assert (
                run(sandbox, "import os\nprint(os.listdir('/root'))").reason
                == "runtime_error:FileNotFoundError"
            )
        finally:
            marker.unlink()
    assert run(sandbox, "open('/etc/passwd').read()").reason == "runtime_error:FileNotFoundError"


def test_parent_environment_is_not_visible(sandbox, monkeypatch):
    secret = uuid.uuid4().hex
    monkeypatch.setenv("COSMO_TEST_SECRET", secret)
    # every process's environ, including bwrap's own PID-1 reaper
    code = (
        "import os\nprint(dict(os.environ))\n"
        "for p in os.listdir('/proc'):\n"
        "    if p.isdigit():\n"
        "        try:\n            print(open(f'/proc/{p}/environ', 'rb').read())\n"
        "        except OSError:\n            pass\n"
    )
    res = run(sandbox, code)
    assert res.ok
    assert secret.encode() not in res.stdout and b"COSMO_TEST_SECRET" not in res.stdout
    assert b"'HOME': '/tmp'" in res.stdout


def test_no_network_to_a_host_listener(sandbox):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        listener.setblocking(False)
        port = listener.getsockname()[1]
        code = f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1).sendall(b'hi')"
        res = run(sandbox, code)
        assert res.reason == "runtime_error:ConnectionRefusedError"  # its own loopback, nobody listening
        with pytest.raises(BlockingIOError):
            listener.accept()
    res = run(sandbox, "import socket\nsocket.getaddrinfo('example.com', 80)")
    assert res.reason == "runtime_error:gaierror"


def test_killing_the_parent_or_everyone_hurts_nobody_outside(sandbox):
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        # PID 1 of the namespace shrugs off signals from inside; our own pid is not even visible
        res = run(sandbox, f"import os\nos.kill(os.getppid(), 9)\nos.kill({os.getpid()}, 9)")
        assert res.reason == "runtime_error:ProcessLookupError"
        res = run(sandbox, f"import os\nos.kill({bystander.pid}, 9)")
        assert res.reason == "runtime_error:ProcessLookupError"
        # "every process I may signal" is nobody: the namespace holds only this program and PID 1
        res = run(sandbox, "import os, signal\nos.kill(-1, signal.SIGKILL)")
        assert res.reason == "runtime_error:ProcessLookupError"
        res = run(sandbox, "import os, signal, time\nos.killpg(0, signal.SIGKILL)\ntime.sleep(5)")
        assert res.reason == "killed" and res.error == "SIGKILL"
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
    os.kill(os.getpid(), 0)  # and we are still here


def test_background_processes_do_not_survive(sandbox):
    marker = f"cosmo-leftover-{uuid.uuid4().hex}"
    code = (
        "import os, subprocess, sys\n"
        f"subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)', {marker!r}], start_new_session=True)\n"
        "if os.fork() == 0:\n"  # classic double-fork daemon
        "    os.setsid()\n"
        "    if os.fork() == 0:\n"
        f"        os.execv('/bin/sleep', ['/bin/sleep', '120', {marker!r}])\n"
        "    os._exit(0)\n"
        "print('parent done')\n"
    )
    res = run(sandbox, code)
    assert res.ok
    assert_no_process_with(marker)


def test_timeout_kills_children_too(quick):
    marker = f"cosmo-child-{uuid.uuid4().hex}"
    code = f"import subprocess, time\nsubprocess.Popen(['/bin/sleep', '120', {marker!r}])\ntime.sleep(3600)\n"
    assert run(quick, code).reason == "timeout"
    assert_no_process_with(marker)


def test_many_hostile_programs_at_once(sandbox):
    """The thread pool path: hostile and clean programs side by side, each with its own verdict."""
    from concurrent.futures import ThreadPoolExecutor

    programs = {
        "print('ok')": None,
        "x = bytearray(8 << 30)": "memory",
        "import ctypes\nctypes.string_at(0)": "killed",
        "1 / 0": "runtime_error:ZeroDivisionError",
        "import sys\nwhile True:\n    sys.stdout.write('y' * 65536)": "output_limit",
        "import os\nwhile True:\n    os.write(2, b'e' * 65536)": "output_limit",
        "import os\nwhile True:\n    os.fork()": "runtime_error:BlockingIOError",
    }
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(sandbox.run, programs))
    assert [r.reason for r in results] == list(programs.values())  # none needed the clock


def test_timeout_leaves_no_process_of_the_sandbox_uid(own_uid):
    sandbox = Sandbox(SandboxLimits(timeout=TIMEOUT, **LIMITS), uid=own_uid)
    code = (
        "import os, time\n"
        "for _ in range(8):\n    if os.fork() == 0:\n        time.sleep(3600)\n        os._exit(0)\n"
        "print(os.getuid(), sum(p.isdigit() for p in os.listdir('/proc')), flush=True)\n"
        "time.sleep(3600)\n"
    )
    res = run(sandbox, code)
    assert res.reason == "timeout" and res.error is None  # the wall clock, not a signal or the CPU limit
    # before the kill: PID 1, the program and its 8 children, as `own_uid` (bwrap maps it to itself)
    assert res.stdout.split() == [str(own_uid).encode(), b"10"]
    wait_until(lambda: processes_of_uid(own_uid) == [], "sandbox processes survived the timeout")
