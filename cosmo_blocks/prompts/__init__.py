from cosmo_blocks.prompts.builder import PromptBuilder
from cosmo_blocks.prompts.templates import TemplateError, load_catalog

__all__ = ["PromptBuilder", "TemplateError", "load_catalog"]
