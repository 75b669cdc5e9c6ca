"""The bundled prompts/, executors/ and pipelines/ folders, wherever cosmo-blocks is installed.

A wheel carries them inside the package (`cosmo_blocks/_bundled/NAME`); an editable install of a
checkout uses the checkout's own top-level folders, so an edit there takes effect at once.
"""

from importlib import resources
from pathlib import Path

from cosmo_blocks.errors import ConfigError

BUNDLED = ("prompts", "executors", "pipelines")


def bundled_dir(name: str) -> Path:
    """The folder `prompts`, `executors` or `pipelines` that this installation ships."""
    if name not in BUNDLED:
        raise ValueError(f"no bundled folder {name!r}; bundled: {', '.join(BUNDLED)}")
    packaged = resources.files("cosmo_blocks") / "_bundled" / name
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[1] / name


def bundled_seeds() -> Path:
    """The quickstart's seed sample: 30 seed documents, six per source."""
    return bundled_dir("pipelines") / "seeds" / "sample.jsonl"


def bundled_pipelines() -> list[str]:
    return sorted(p.stem for p in bundled_dir("pipelines").glob("*.py") if not p.name.startswith("_"))


def find_pipeline(name_or_path: str) -> Path:
    """A pipeline script: a path to a .py file, or the name of a bundled pipeline (`quickstart`)."""
    path = Path(name_or_path).expanduser()
    if path.is_file():
        return path
    if path.suffix == "" and "/" not in name_or_path:
        bundled = bundled_dir("pipelines") / f"{name_or_path}.py"
        if bundled.is_file():
            return bundled
    raise ConfigError(
        f"no pipeline {name_or_path!r}: give a path to a pipeline script or the name of a bundled one "
        f"({', '.join(bundled_pipelines())})"
    )
