"""Prompt templates: files under prompts/<language>/<format>.txt plus prompts/manifest.toml."""

import string
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from cosmo_blocks.errors import ConfigError
from cosmo_blocks.keys import ENRICHMENT_FIELDS
from cosmo_blocks.resources import bundled_dir

# the installation's prompts/ (the wheel's copy, or the checkout's); override with templates_dir=
DEFAULT_TEMPLATES_DIR = bundled_dir("prompts")
# every seed has these; the enrichment fields only after an enrichment step set them
FIELDS = ("topic", "context", "audience", "topic_clause", "enrichment_clause", *ENRICHMENT_FIELDS)
# fields that render as "" when a seed has nothing for them, so that naming them never skips a seed
OPTIONAL_FIELDS = ("topic_clause", "enrichment_clause")
# what an [enrichment_clause] alternative may name
CLAUSE_FIELDS = ("topic", *ENRICHMENT_FIELDS)
# how a difficulty level reads inside a prompt ("at a {difficulty} level"), per language;
# a manifest's [difficulties.<language>] table overrides these
DIFFICULTY_NAMES = {
    "en": {
        "elementary": "elementary school",
        "middle_school": "middle school",
        "high_school": "high school",
        "college": "college",
        "expert": "expert",
    },
    "ko": {
        "elementary": "초등학교",
        "middle_school": "중학교",
        "high_school": "고등학교",
        "college": "대학교",
        "expert": "전문가",
    },
}


class TemplateError(ConfigError):
    """A format, audience, language or template file that the prompts folder does not provide."""


@dataclass(frozen=True)
class Template:
    path: Path
    text: str

    @property
    def fields(self) -> tuple[str, ...]:
        """The fields the template names, in order of first use."""
        return tuple(dict.fromkeys(name for _, name, _, _ in string.Formatter().parse(self.text) if name))

    @property
    def enrichment_fields(self) -> tuple[str, ...]:
        """The fields that only an enrichment step sets: a seed without them gets no prompt."""
        return tuple(f for f in self.fields if f in ENRICHMENT_FIELDS)

    def render(self, **values: str) -> str:
        """The filled template; an optional clause not given renders as ""."""
        return self.text.format_map(dict.fromkeys(OPTIONAL_FIELDS, "") | values)


@dataclass(frozen=True)
class Catalog:
    """Everything under one templates dir: formats, their audiences and shares, the templates."""

    root: Path
    formats: dict[str, dict]
    audience_names: dict[str, dict[str, str]]
    topic_clause: dict
    templates: dict[str, Template]  # by "language/format"
    difficulty_names: dict[str, dict[str, str]] = field(default_factory=dict)
    # per language, the alternatives of the enrichment clause, fullest first
    enrichment_clause: dict[str, tuple[Template, ...]] = field(default_factory=dict)

    def template(self, format_: str, language: str) -> Template:
        if f"{language}/{format_}" not in self.templates:
            raise TemplateError(
                f"no template for format {format_!r} in language {language!r}: "
                f"add {self.root / language / (format_ + '.txt')}"
            )
        return self.templates[f"{language}/{format_}"]


def _field_names(text: str, where: str) -> set[str]:
    try:
        return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}
    except ValueError as e:
        raise TemplateError(f"{where}: {e} (write a literal brace as {{{{ or }}}})") from None


def _braced(names) -> str:
    return ", ".join("{" + n + "}" for n in names)


def _check_fields(path: Path, text: str) -> None:
    unknown = sorted(n for n in _field_names(text, f"template {path}") if n not in FIELDS)
    if unknown:
        raise TemplateError(
            f"template {path} names field(s) {_braced(unknown)} that no seed provides; available fields: "
            f"{_braced(FIELDS)}"
        )


def _load_enrichment_clause(manifest: dict, manifest_path: Path) -> dict[str, tuple[Template, ...]]:
    """[enrichment_clause]: per language, one clause or a list of alternatives, fullest first.

    Each alternative names some of {related_concepts} {difficulty} {prerequisites} (and maybe
    {topic}); PromptBuilder renders the first one whose fields the seed all has.
    """
    clauses = {}
    for language, value in manifest.get("enrichment_clause", {}).items():
        alternatives = [value] if isinstance(value, str) else value
        if not isinstance(alternatives, list) or not all(isinstance(a, str) for a in alternatives):
            raise TemplateError(
                f"[enrichment_clause] {language} in {manifest_path} must be a string or a list of strings"
            )
        for text in alternatives:
            where = f"[enrichment_clause] {language} in {manifest_path}"
            unknown = sorted(n for n in _field_names(text, where) if n not in CLAUSE_FIELDS)
            if unknown:
                raise TemplateError(
                    f"{where} names {_braced(unknown)}; a clause may name {_braced(CLAUSE_FIELDS)}"
                )
        clauses[language] = tuple(Template(manifest_path, text) for text in alternatives)
    return clauses


def load_catalog(templates_dir: str | Path | None = None) -> Catalog:
    root = Path(templates_dir or DEFAULT_TEMPLATES_DIR)
    manifest_path = root / "manifest.toml"
    if not manifest_path.is_file():
        raise TemplateError(f"no prompt manifest at {manifest_path}")
    try:
        manifest = tomllib.loads(manifest_path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as e:
        raise TemplateError(f"{manifest_path} is not valid TOML: {e}") from None
    formats = manifest.get("formats", {})
    for name, spec in formats.items():
        if not isinstance(spec.get("audiences"), list) or not spec["audiences"]:
            raise TemplateError(f'[formats.{name}] in {manifest_path} needs audiences = ["...", ...]')
    templates = {}
    for path in sorted(root.glob("*/*.txt")):
        format_, language = path.stem, path.parent.name
        if format_ not in formats:
            raise TemplateError(f"template {path} has no [formats.{format_}] entry in {manifest_path}")
        text = path.read_text(encoding="utf-8")
        _check_fields(path, text)
        templates[f"{language}/{format_}"] = Template(path, text)
    difficulty_names = {
        language: DIFFICULTY_NAMES.get(language, {}) | manifest.get("difficulties", {}).get(language, {})
        for language in DIFFICULTY_NAMES.keys() | manifest.get("difficulties", {}).keys()
    }
    return Catalog(
        root,
        formats,
        manifest.get("audiences", {}),
        manifest.get("topic_clause", {}),
        templates,
        difficulty_names,
        _load_enrichment_clause(manifest, manifest_path),
    )
