"""The wheel carries the top-level prompts/, executors/ and pipelines/ inside the package.

Only the wheel: an editable install gets no copies, so cosmo_blocks/resources.py finds the
checkout's own folders and an edit there takes effect at once.
"""

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

BUNDLED = ("prompts", "executors", "pipelines")


class BundledFolders(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if version == "standard":
            build_data["force_include"].update({name: f"cosmo_blocks/_bundled/{name}" for name in BUNDLED})
