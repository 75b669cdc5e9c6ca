"""Refuse, when a pipeline is built, a writer object that several steps would close in turn."""

from datatrove.pipeline.writers.disk_base import DiskWriter

from cosmo_blocks.errors import ConfigError


def _writers_of(step):
    if isinstance(step, DiskWriter):
        yield step
    exclusion_writer = getattr(step, "exclusion_writer", None)
    if isinstance(exclusion_writer, DiskWriter):
        yield exclusion_writer


def check_shared_writers(steps: list) -> None:
    """Raise ConfigError when one writer that cannot be shared is given to several steps.

    A datatrove writer closes its files when the first step holding it finishes; the next step
    that writes reopens them and truncates what was written. Our Cosmopedia writers count their
    users and can be shared.
    """
    holders: dict[int, list] = {}
    for step in steps:
        for writer in _writers_of(step):
            holders.setdefault(id(writer), [writer]).append(step)
    for writer, *users in holders.values():
        if len(users) > 1 and not getattr(writer, "shareable", False):
            names = ", ".join(type(step).__name__ for step in users)
            raise ConfigError(
                f"one {type(writer).__name__} ({writer.output_folder.path}) is given to {names}: it would "
                "close and reopen its files, losing records. Give each step its own writer (e.g. "
                f"exclusion_writer={type(writer).__name__}(f'{{rejects}}/<filter name>')), or share one "
                "CosmopediaJsonlWriter(folder, rejects=True) or CosmopediaParquetWriter(folder, rejects=True), "
                "which can be shared."
            )
