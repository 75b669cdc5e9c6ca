"""Run untrusted Python programs inside bubblewrap.

One program = one `bwrap` process tree:

- namespaces: `--unshare-all --unshare-user` (no network but a private loopback, own PID namespace,
  own IPC/UTS/cgroup); `--die-with-parent` and the PID namespace mean that when the program ends,
  or we kill it, every process it started dies with it.
- filesystem: /usr (and the /lib, /bin symlinks) read-only, a fresh /proc and /dev, a small
  size-capped tmpfs as the work dir (/tmp, also HOME) and another one for /dev/shm. Of /etc only
  `_ETC` (read-only, where present): Debian's /etc/alternatives symlinks (numpy finds its BLAS
  through them), /etc/matplotlibrc and fontconfig's /etc/fonts. Nothing else of the host is visible: no /root, no /home,
  no /etc/passwd, no /work.
- environment: `--clearenv` plus `_SANDBOX_ENV`: PATH/HOME/LANG, matplotlib headless with its
  config in the work dir, and BLAS/OpenMP pools of one thread (a pool per core would meet the
  process cap and the address-space limit on a big machine); stdin is /dev/null.
- identity: when we are root, the sandbox runs as an unprivileged uid of its own (`DEFAULT_UID`,
  or `uid=`), because the kernel exempts root's real uid from RLIMIT_NPROC, which is what stops
  fork storms. A uid no account uses (not `nobody`, which host daemons share) means every host
  process of that uid belongs to a sandbox, so none can outlive its run unnoticed. util-linux's
  `setpriv` drops the uid and execs bwrap: `subprocess`'s own `user=` would force a full fork() of
  this process, which costs ~55 ms per program in a 2 GiB process (one that also ran the engine)
  against ~2 ms for the vfork path that setpriv keeps.
- rlimits (address space, CPU, file size, process count, no core files) are set by a short
  prelude inside the sandbox before the program runs. Doing it there rather than in a
  `preexec_fn` keeps subprocess on its fast spawn path and makes RLIMIT_NPROC count only the
  processes of this sandbox's user namespace, not every process of the uid on the host.
- outside the sandbox: stdout/stderr are read with a byte cap and the wall clock is watched; on
  either limit the whole process group is SIGKILLed (SIGTERM can be ignored, SIGKILL cannot).

The interpreter is the system Python (`/usr/bin/python3` by default), run as
`python3 -I -S -B`: isolated mode, no `site` (so no .pth files and no /usr/local), no .pyc writes.
That keeps startup fast. The prelude then appends `Sandbox.packages` to sys.path, by default
Debian's /usr/lib/python3/dist-packages: what apt installed there (python3-numpy, python3-pandas,
python3-sympy, python3-matplotlib, ...) is importable, read-only. When a program stops at
ModuleNotFoundError, the prelude also lists the other top-level modules its source imports that
the sandbox cannot find (`SandboxResult.missing`), so a caller can judge them all at once.
"""

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from dataclasses import dataclass, field

from cosmo_blocks.errors import ConfigError

# No account has it on Debian-like hosts: inside the block Debian reserves (65000-65533), above
# systemd's dynamic users (61184-65519), below `nobody` (65534).
DEFAULT_UID = 65_530


class SandboxUnavailable(RuntimeError):
    """bubblewrap (or the interpreter) is missing or cannot create namespaces here."""


class SandboxError(RuntimeError):
    """The sandbox itself failed to start a program (not the program's fault)."""


# Runs inside the sandbox before the user's program: limits first, then compile, then run. It reports
# the outcome on its own pipe (fd given in argv) so the program's stdout/stderr can be anything.
# It uses `posix`, not `os`: under -S nothing has imported os yet, and importing it costs ~1 ms.
# On ModuleNotFoundError it reports the missing module (unless it is a submodule that a package the
# sandbox has lacks: `matplotlib.pyplott`) and then every other top-level module the source imports
# (outside try blocks, which are how optional imports are written) that no finder finds: Python
# stops at the first, but a caller judging imports wants them all.
_PRELUDE = """\
import posix, sys, resource
_fd = int(sys.argv[1])
posix.set_inheritable(_fd, False)
sys.path.extend({packages})
for _r, _v in ((resource.RLIMIT_AS, {memory}), (resource.RLIMIT_CPU, {cpu}), (resource.RLIMIT_FSIZE, {fsize}),
               (resource.RLIMIT_NPROC, {nproc}), (resource.RLIMIT_CORE, 0)):
    resource.setrlimit(_r, (_v, _v))
def _report(kind, name):
    try:
        posix.write(_fd, ("@" + kind + ":" + name + "\\n").encode())
    except OSError:
        pass
def _missing(first):
    # a submodule that a regular package lacks is the program's own error, not a missing package
    _parent = sys.modules.get((first or "").rpartition(".")[0])
    names = [first] if first and not getattr(_parent, "__file__", None) else []
    try:
        import ast, importlib.util
        _tries = tuple(getattr(ast, _t) for _t in ("Try", "TryStar") if hasattr(ast, _t))
        _todo = [ast.parse(_src)]
        while _todo:
            _n = _todo.pop()
            if isinstance(_n, ast.Import):
                _mods = [_a.name for _a in _n.names]
            elif isinstance(_n, ast.ImportFrom) and not _n.level and _n.module:
                _mods = [_n.module]
            else:
                _todo.extend(reversed([_c for _c in ast.iter_child_nodes(_n) if not isinstance(_c, _tries)]))
                continue
            for _m in _mods:
                _top = _m.partition(".")[0]
                if _top not in names and _top not in sys.modules and importlib.util.find_spec(_top) is None:
                    names.append(_top)
    except BaseException:
        pass
    for _m in names:
        _report("missing", _m)
try:
    with open("/sandbox/main.py", "rb") as _f:
        _src = _f.read()
    _code = compile(_src, "main.py", "exec")
except SyntaxError as _e:
    _report("syntax", type(_e).__name__)
    raise
except BaseException as _e:
    _report("error", type(_e).__name__)
    raise
sys.argv = ["main.py"]
_g = {{"__name__": "__main__", "__file__": "main.py", "__builtins__": __builtins__}}
del _f, _r, _v
try:
    exec(_code, _g)
except SystemExit:
    raise
except BaseException as _e:
    _report("error", type(_e).__name__)
    if isinstance(_e, ModuleNotFoundError):
        _missing(_e.name)
    raise
"""


# the availability check; it also lists the standard library of the sandbox's interpreter
_PROBE = b"import sys\nprint('ok')\nprint(*sorted(getattr(sys, 'stdlib_module_names', ())))\n"

_BWRAP_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}
# what the program sees: its work dir is HOME; matplotlib draws to files (no display) and keeps its
# config and font cache there; numerical libraries compute on the calling thread
_SANDBOX_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/tmp",
    "LANG": "C.UTF-8",
    "MPLBACKEND": "Agg",
    "MPLCONFIGDIR": "/tmp/.matplotlib",
    "OPENBLAS_NUM_THREADS": "1",
    "OMP_NUM_THREADS": "1",
    "MKL_NUM_THREADS": "1",
    "NUMEXPR_NUM_THREADS": "1",
}
# host configuration the scientific stack reads, bound read-only where present
_ETC = ("/etc/alternatives", "/etc/matplotlibrc", "/etc/fonts")
# Debian's folder for the Python packages apt installs
DEBIAN_PACKAGES = "/usr/lib/python3/dist-packages"


@dataclass
class SandboxLimits:
    timeout: float = 10.0  # wall seconds
    memory_bytes: int = 1 << 30  # RLIMIT_AS of each process
    file_bytes: int = 16 << 20  # RLIMIT_FSIZE: largest file it may write
    tmpfs_bytes: int = 64 << 20  # size of the work dir (and of /dev/shm)
    nproc: int = 32  # processes/threads inside the sandbox
    output_bytes: int = 1 << 20  # stdout + stderr together

    @property
    def cpu_seconds(self) -> int:
        # a little above the wall timeout so the wall clock (and a clean "timeout") normally wins
        return int(self.timeout) + 2


@dataclass
class SandboxResult:
    status: str  # ok | syntax_error | runtime_error | timeout | memory | killed | output_limit
    error: str | None = None  # exception class or signal name
    returncode: int | None = None
    stdout: bytes = b""
    stderr: bytes = b""
    seconds: float = 0.0
    # on ModuleNotFoundError: the module it stopped at (dotted as raised; left out when a regular
    # package the sandbox has lacks that submodule), then the other top-level modules the source
    # imports that the sandbox cannot find
    missing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def reason(self) -> str | None:
        """The filter's drop reason, e.g. `runtime_error:ZeroDivisionError`; None when it ran fine."""
        if self.ok:
            return None
        if self.status == "runtime_error":
            return f"runtime_error:{self.error}"
        return self.status


@dataclass
class Sandbox:
    """A reusable bubblewrap configuration; `run(code)` is thread-safe."""

    limits: SandboxLimits = field(default_factory=SandboxLimits)
    python: str = "/usr/bin/python3"
    bwrap: str | None = None  # path to bwrap; found on PATH when None
    uid: int = DEFAULT_UID  # host uid to run as when we are root; give each sandbox user its own
    # folders appended to the program's sys.path; under /usr, the only host folder it sees
    packages: tuple[str, ...] = (DEBIAN_PACKAGES,)

    def __post_init__(self):
        if not 0 < self.uid < 2**32 - 1:
            raise ConfigError(f"sandbox uid must be an unprivileged uid (1 to 4294967294), not {self.uid}")
        self.packages = tuple(self.packages)
        outside = [p for p in self.packages if not os.path.normpath(p).startswith("/usr/")]
        if outside:
            raise ConfigError(f"sandbox packages must be folders under /usr, all the sandbox sees: {outside}")
        self.stdlib_modules: frozenset[str] = frozenset()
        self.bwrap = self.bwrap or shutil.which("bwrap")
        self.setpriv = shutil.which("setpriv")
        self._checked = False
        self._lock = threading.Lock()

    def __getstate__(self):  # picklable for datatrove executors; the lock is per process
        state = self.__dict__.copy()
        state.pop("_lock", None)
        state["_checked"] = False  # check again wherever it is unpickled
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        self.setpriv = shutil.which("setpriv")  # this machine's, like the check
        self._lock = threading.Lock()

    # -- availability -------------------------------------------------------------------------
    def check(self) -> None:
        """Raise SandboxUnavailable unless a trivial program really runs inside the sandbox."""
        if self._checked:
            return
        if not self.bwrap:
            raise SandboxUnavailable(
                "bubblewrap (bwrap) is not installed: `apt-get install -y bubblewrap`, or pass "
                "on_missing_sandbox='mark' to keep documents unverified instead of running their code"
            )
        if not os.access(self.python, os.X_OK):
            raise SandboxUnavailable(f"sandbox interpreter {self.python} not found; pass python=...")
        try:
            res = self._run_once(_PROBE)
        except (SandboxError, OSError) as e:
            raise SandboxUnavailable(f"bubblewrap cannot create a sandbox here: {e}") from e
        first, _, rest = res.stdout.partition(b"\n")
        if not res.ok or first != b"ok":
            raise SandboxUnavailable(f"sandbox probe failed: {res.status} {res.stderr[-500:]!r}")
        self.stdlib_modules = frozenset(rest.decode().split())
        self._checked = True

    def available(self) -> bool:
        try:
            self.check()
            return True
        except SandboxUnavailable:
            return False

    # -- running ------------------------------------------------------------------------------
    def run(self, code: str | bytes) -> SandboxResult:
        self.check()
        return self._run_once(code.encode() if isinstance(code, str) else code)

    def _argv(self, program_fd: int, status_fd: int, report_fd: int) -> list[str]:
        lim = self.limits
        prelude = _PRELUDE.format(
            packages=list(self.packages),
            memory=lim.memory_bytes,
            cpu=lim.cpu_seconds,
            fsize=lim.file_bytes,
            nproc=lim.nproc,
        )
        env = [arg for name, value in _SANDBOX_ENV.items() for arg in ("--setenv", name, value)]
        etc = [arg for path in _ETC for arg in ("--ro-bind-try", path, path)]
        tmpfs = str(lim.tmpfs_bytes)
        # these symlinks match Debian/Ubuntu's merged /usr; absent targets are harmless
        return [
            self.bwrap,
            "--unshare-all", "--unshare-user", "--die-with-parent", "--new-session",
            "--clearenv", *env,
            "--ro-bind", "/usr", "/usr",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
            *etc,
            "--proc", "/proc", "--dev", "/dev",
            "--size", tmpfs, "--tmpfs", "/tmp",
            "--size", tmpfs, "--tmpfs", "/dev/shm",
            "--ro-bind-data", str(program_fd), "/sandbox/main.py",
            "--json-status-fd", str(status_fd),
            "--chdir", "/tmp",
            self.python, "-I", "-S", "-B", "-c", prelude, str(report_fd),
        ]  # fmt: skip

    def _run_once(self, code: bytes) -> SandboxResult:
        program_fd = os.memfd_create("program", 0)  # no file on the host's disk
        os.write(program_fd, code)
        os.lseek(program_fd, 0, os.SEEK_SET)
        status_r, status_w = os.pipe()
        report_r, report_w = os.pipe()
        start = time.monotonic()
        prefix, identity = self._unprivileged()
        try:
            proc = subprocess.Popen(
                [*prefix, *self._argv(program_fd, status_w, report_w)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                pass_fds=(program_fd, status_w, report_w),
                start_new_session=True,  # one process group to SIGKILL
                # bwrap's own environment is readable inside as /proc/1/environ (its PID-1 reaper keeps it),
                # so --clearenv alone is not enough: bwrap itself gets nothing of ours
                env=_BWRAP_ENV,
                **identity,
            )
        finally:
            for fd in (program_fd, status_w, report_w):
                os.close(fd)
        limit_hit = None
        try:
            stdout, stderr, limit_hit = self._collect(proc, start)
        finally:
            _kill_group(proc)
            proc.wait()
            status = _read_all(status_r)
            report = _read_all(report_r)
        seconds = time.monotonic() - start
        # bwrap never started the program: our problem, not the document's. (When we killed it, it
        # may not have written its status yet, so only a natural exit can tell.)
        if limit_hit is None and b'"child-pid"' not in status:
            raise SandboxError(
                f"bwrap failed (exit {proc.returncode}): {stderr[-500:].decode(errors='replace')}"
            )
        status_name, error = _verdict(proc.returncode, limit_hit, report)
        missing = tuple(_reported(report, "missing")) if error == "ModuleNotFoundError" else ()
        return SandboxResult(status_name, error, proc.returncode, stdout, stderr, seconds, missing)

    def _unprivileged(self) -> tuple[list[str], dict]:
        """How to leave root: (argv prefix, Popen kwargs). setpriv keeps subprocess on its vfork path;
        without it, subprocess's own user= does the same through a full fork of this process."""
        if os.geteuid() != 0:
            return [], {}
        if self.setpriv:
            return [self.setpriv, f"--reuid={self.uid}", f"--regid={self.uid}", "--clear-groups", "--"], {}
        return [], {"user": self.uid, "group": self.uid, "extra_groups": []}

    def _collect(self, proc: subprocess.Popen, start: float) -> tuple[bytes, bytes, str | None]:
        """Read stdout/stderr until EOF, the byte cap or the deadline; returns the limit hit, if any."""
        deadline = start + self.limits.timeout
        cap = self.limits.output_bytes
        chunks = {proc.stdout.fileno(): [], proc.stderr.fileno(): []}
        total = 0
        with selectors.DefaultSelector() as sel:
            for stream in (proc.stdout, proc.stderr):
                sel.register(stream.fileno(), selectors.EVENT_READ)
            while sel.get_map():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return *_join(chunks, proc), "timeout"
                for key, _ in sel.select(remaining):
                    data = os.read(key.fd, 65536)
                    if not data:
                        sel.unregister(key.fd)
                        continue
                    total += len(data)
                    if total > cap:
                        return *_join(chunks, proc), "output_limit"
                    chunks[key.fd].append(data)
        try:
            proc.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            return *_join(chunks, proc), "timeout"
        return *_join(chunks, proc), None


def _join(chunks: dict, proc: subprocess.Popen) -> tuple[bytes, bytes]:
    return b"".join(chunks[proc.stdout.fileno()]), b"".join(chunks[proc.stderr.fileno()])


def _kill_group(proc: subprocess.Popen) -> None:
    # bwrap leads its own session; the sandboxed tree dies with it (--die-with-parent + PID namespace)
    if proc.returncode is None:  # once reaped, its pid could belong to someone else
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(proc.pid, signal.SIGKILL)
    for stream in (proc.stdout, proc.stderr):
        if stream:
            stream.close()


def _read_all(fd: int) -> bytes:
    os.set_blocking(fd, False)
    chunks = []
    try:
        while len(chunks) < 64:
            data = os.read(fd, 4096)
            if not data:
                break
            chunks.append(data)
    except BlockingIOError:
        pass
    finally:
        os.close(fd)
    return b"".join(chunks)


def _reported(report: bytes, kind: str) -> list[str]:
    prefix = f"@{kind}:"
    lines = report.decode(errors="replace").splitlines()
    return [line[len(prefix) :] for line in lines if line.startswith(prefix)]


def _verdict(returncode: int, limit_hit: str | None, report: bytes) -> tuple[str, str | None]:
    if limit_hit:
        return limit_hit, None
    lines = report.decode(errors="replace").splitlines()
    lines = [line for line in lines if line.startswith(("@syntax:", "@error:"))]
    if lines:
        kind, _, name = lines[0][1:].partition(":")
        if kind == "syntax":
            return "syntax_error", name
        if name == "MemoryError":
            return "memory", name
        return "runtime_error", name
    if returncode == 0:
        return "ok", None
    if returncode > 128:  # bwrap passes on a signal death as 128 + signal
        sig = _signal_name(returncode - 128)
        return ("timeout" if sig == "SIGXCPU" else "killed"), sig
    return "runtime_error", "SystemExit"  # sys.exit(n) / exit(n) with n != 0


def _signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"
