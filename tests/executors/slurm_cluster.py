"""A real one-node SLURM cluster on this machine, in a temp dir, for the SLURM tests.

Everything (munge key and socket, slurm.conf, state, spool, logs, pid files) lives under one
folder, and clients find it through SLURM_CONF, so nothing in /etc is touched and a second
cluster (another checkout's tests) does not collide: ports are picked free.

    python tests/executors/slurm_cluster.py /tmp/cluster   # start one by hand; prints SLURM_CONF
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")


def slurm_installed() -> bool:
    return all(shutil.which(d) or Path(f"/usr/sbin/{d}").exists() for d in DAEMONS) and bool(
        shutil.which("sbatch")
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _daemon(name: str) -> str:
    return shutil.which(name) or f"/usr/sbin/{name}"


class LocalSlurmCluster:
    def __init__(
        self,
        root: Path,
        cpus: int = 2,
        max_array_size: int = 1001,
        real_memory_mb: int = 8000,
        oversubscribe: int = 1,
    ):
        self.root = Path(root)
        self.cpus = cpus
        self.max_array_size = max_array_size
        self.real_memory_mb = real_memory_mb
        self.oversubscribe = oversubscribe
        self.host = socket.gethostname().split(".")[0]
        self.conf = self.root / "slurm.conf"
        self.munge_socket = self.root / "munge" / "munge.socket"

    @property
    def env(self) -> dict:
        return {"SLURM_CONF": str(self.conf)}

    def start(self, timeout: float = 60) -> "LocalSlurmCluster":
        for sub in ("munge", "state", "spool", "log", "run"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self._start_munge()
        self.conf.write_text(self._slurm_conf())
        env = os.environ | self.env
        subprocess.run([_daemon("slurmctld"), "-f", str(self.conf)], check=True, env=env)
        subprocess.run([_daemon("slurmd"), "-f", str(self.conf)], check=True, env=env)
        self._wait_idle(timeout)
        return self

    def _start_munge(self):
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o400)
        subprocess.run(
            [
                _daemon("munged"),
                "--force",
                f"--key-file={key}",
                f"--socket={self.munge_socket}",
                f"--pid-file={self.root / 'run' / 'munged.pid'}",
                f"--log-file={self.root / 'log' / 'munged.log'}",
                f"--seed-file={self.root / 'munge' / 'seed'}",
            ],
            check=True,
        )

    def _slurm_conf(self) -> str:
        r = self.root
        return f"""\
ClusterName=cosmotest
SlurmctldHost={self.host}
SlurmctldPort={_free_port()}
SlurmdPort={_free_port()}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={self.munge_socket}
CredType=cred/munge
StateSaveLocation={r}/state
SlurmdSpoolDir={r}/spool
SlurmctldPidFile={r}/run/slurmctld.pid
SlurmdPidFile={r}/run/slurmd.pid
SlurmctldLogFile={r}/log/slurmctld.log
SlurmdLogFile={r}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
MaxArraySize={self.max_array_size}
MaxJobCount=20000
MinJobAge=600
KillWait=3
InactiveLimit=0
NodeName={self.host} CPUs={self.cpus} RealMemory={self.real_memory_mb} State=UNKNOWN
PartitionName=debug Nodes={self.host} Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE:{self.oversubscribe}
"""

    def _wait_idle(self, timeout: float):
        deadline = time.monotonic() + timeout
        out = ""
        while time.monotonic() < deadline:
            res = subprocess.run(
                ["sinfo", "-h", "-o", "%t"], capture_output=True, text=True, env=os.environ | self.env
            )
            out = res.stdout.strip() + res.stderr.strip()
            if res.returncode == 0 and out == "idle":
                return
            time.sleep(0.5)
        logs = "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-2000:]}"
            for p in (self.root / "log").glob("*.log")
        )
        self.stop()
        raise RuntimeError(f"SLURM test cluster did not become idle in {timeout}s (sinfo: {out!r})\n{logs}")

    def stop(self):
        """Kill the daemons we started (by their pid files), then remove the folder."""
        for name in ("slurmd", "slurmctld", "munged"):
            pid_file = self.root / "run" / f"{name}.pid"
            try:
                pid = int(pid_file.read_text().strip())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            else:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        shutil.rmtree(self.root, ignore_errors=True)


if __name__ == "__main__":
    cluster = LocalSlurmCluster(
        Path(sys.argv[1]), max_array_size=int(sys.argv[2]) if len(sys.argv) > 2 else 1001
    )
    cluster.start()
    print(f"export SLURM_CONF={cluster.conf}")
