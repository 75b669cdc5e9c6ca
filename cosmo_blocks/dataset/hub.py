"""Push a run's dataset, card and report to the Hugging Face hub.

Only `data/`, `README.md` and `report/` go up (rejects, dedup working files, logs and journals stay
behind), through `HfApi.create_repo` + `HfApi.upload_folder(allow_patterns=...)`. The token comes
from the environment (`HF_TOKEN`) or a `huggingface-cli login`. `upload_plan` lists the files with
the same filter `upload_folder` applies, so a dry run shows exactly what an upload would send.
"""

import os
from pathlib import Path

from cosmo_blocks.errors import ConfigError

ALLOW_PATTERNS = ["README.md", "data/*", "report/*"]


def _local_folder(output: str) -> Path:
    from fsspec.utils import get_protocol

    if get_protocol(output) not in ("file", "local"):
        raise ConfigError(
            f"--push-to-hub uploads from a local folder; {output} is remote. Copy it locally first "
            "(e.g. `aws s3 sync` / `fsspec`), then run `cosmo report LOCAL_COPY --push-to-hub REPO`."
        )
    folder = Path(output.removeprefix("file://")).expanduser()
    if not (folder / "data").is_dir():
        raise ConfigError(f"{folder / 'data'} does not exist: give the output folder of a finished run.")
    return folder


def upload_plan(output: str | os.PathLike) -> list[tuple[str, int]]:
    """(path in the repo, size in bytes) of every file an upload of `output` would send."""
    from huggingface_hub.utils import DEFAULT_IGNORE_PATTERNS, filter_repo_objects

    folder = _local_folder(os.fspath(output))
    files = {p.relative_to(folder).as_posix(): p for p in sorted(folder.glob("**/*")) if p.is_file()}
    kept = filter_repo_objects(files, allow_patterns=ALLOW_PATTERNS, ignore_patterns=DEFAULT_IGNORE_PATTERNS)
    return [(name, files[name].stat().st_size) for name in kept]


def push_to_hub(output: str | os.PathLike, repo: str, private: bool = False, token: str | None = None) -> str:
    """Create the dataset repo (if needed) and upload data/, README.md and report/; returns the commit URL."""
    from huggingface_hub import HfApi

    folder = _local_folder(os.fspath(output))
    if not (folder / "README.md").is_file():
        raise ConfigError(
            f"{folder / 'README.md'} is missing: build the card first (`cosmo report {output}`)."
        )
    api = HfApi(token=token)
    api.create_repo(repo, repo_type="dataset", private=private, exist_ok=True)
    commit = api.upload_folder(
        folder_path=folder,
        repo_id=repo,
        repo_type="dataset",
        allow_patterns=ALLOW_PATTERNS,
        commit_message="Upload dataset, card and report (cosmo-blocks)",
    )
    return str(commit)
