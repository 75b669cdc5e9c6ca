"""Prompt templates: Jinja2 files under prompts/<language>/, plus prompts/manifest.toml.

`<format>.txt` is the prompt (the chat's user turn); an optional `<format>.system.txt` beside it
is that format's system prompt. Both are Jinja2 over the same fields, and every field a template
names is checked when the catalog loads: a field no seed can provide is a TemplateError naming
the template file and the field.
"""

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from jinja2 import meta, nodes
from jinja2.utils import missing

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.resources import bundled_dir

# the installation's prompts/ (the wheel's copy, or the checkout's); override with templates_dir=
DEFAULT_TEMPLATES_DIR = bundled_dir("prompts")
SYSTEM_SUFFIX = ".system.txt"
# every prompt gets these: the topic ("" when the seed has none), the seed's extract, the audience
# as named in the language and as the manifest names it (`audience_key`, for a sentence that only
# one audience gets), and whether this prompt adds the topic clause (drawn per seed)
BASE_FIELDS = ("topic", "context", "audience", "audience_key", "topic_clause")
# metadata a seed may carry (a seed source, a clustering or retrieval step, an enrichment step);
# a manifest's `seed_fields = [...]` adds a recipe's own
SEED_FIELDS = (
    keys.TITLE,
    keys.URL,
    keys.SEED_ID,
    keys.SEED_DATA,
    keys.SOURCE,
    keys.CLUSTER,
    keys.CATEGORY,
    keys.SUBCATEGORY,
    keys.SUBTOPIC,
    *keys.ENRICHMENT_FIELDS,
)
# how a difficulty level reads inside a prompt ("at a {{ difficulty }} level"), per language;
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
# `{name}` in a template's literal text: a str.format field that Jinja2 would print as it is
SINGLE_BRACE_FIELD = re.compile(r"(?<!\{)\{\s*([A-Za-z_]\w*)\s*\}(?!\})")


class TemplateError(ConfigError):
    """A format, audience, language, template file or field that the prompts folder does not provide."""


class MissingField(jinja2.UndefinedError):
    """A template prints a field that this seed does not have (or has empty)."""

    def __init__(self, field: str, message: str | None = None):
        super().__init__(message or f"{field!r} is undefined")
        self.field = field


class GuardedUndefined(jinja2.StrictUndefined):
    """A field the seed lacks: false in a test (`{% if related_concepts %}`); printed, MissingField."""

    def __init__(self, hint=None, obj=missing, name=None, exc=jinja2.UndefinedError):
        if obj is missing and name is not None:  # a field, not an attribute of one
            exc = functools.partial(MissingField, name)
        super().__init__(hint, obj, name, exc)

    def __bool__(self) -> bool:
        return False


ENVIRONMENT = jinja2.Environment(
    undefined=GuardedUndefined,
    keep_trailing_newline=True,  # a template's last newline is part of the prompt
    autoescape=False,
)


@functools.cache
def compiled(text: str) -> jinja2.Template:
    """The compiled template, once per process: a Template holds only its text, so it pickles (to
    executor workers, SLURM tasks) and serializes (datatrove's executor.json) as plain data."""
    return ENVIRONMENT.from_string(text)


@dataclass(frozen=True)
class Template:
    """One format in one language: its prompt and optional system prompt, and their fields.

    `fields`: every field either names, in order of first use. `required`: those a seed must have
    (each non-empty) to get a prompt; a field named in a test (`{% if x %}`, `x if ... else ...`,
    `x | default(...)`) is optional instead, and a seed without it renders the other branch.
    """

    path: Path
    text: str
    system_text: str | None = None
    fields: tuple[str, ...] = ()
    required: tuple[str, ...] = ()

    def render(self, **values) -> str:
        """The filled prompt; a field not given is undefined (false in a test, MissingField if printed)."""
        return compiled(self.text).render(values)

    def render_system(self, **values) -> str | None:
        """The filled system prompt, or None when the format has none."""
        return None if self.system_text is None else compiled(self.system_text).render(values)


def _parse(text: str, where: Path) -> nodes.Template:
    try:
        ast = ENVIRONMENT.parse(text)
        compiled(text)  # an unknown filter or test is found only when compiling
    except jinja2.TemplateSyntaxError as e:
        raise TemplateError(f"template {where} line {e.lineno}: {e.message}") from None
    literal = [value for _, kind, value in _tokens_outside_raw(text) if kind == "data"]
    single = sorted({m for chunk in literal for m in SINGLE_BRACE_FIELD.findall(chunk)})
    if single:
        raise TemplateError(
            f"template {where} names field(s) {_braced(single)} with single braces, which Jinja2 prints "
            f"as they are: write {{{{ {single[0]} }}}} (or {{% raw %}}{{{single[0]}}}{{% endraw %}} for "
            "the literal text)"
        )
    return ast


def _tokens_outside_raw(text: str):
    inside = False
    for token in ENVIRONMENT.lex(text):
        if token[1] in ("raw_begin", "raw_end"):
            inside = token[1] == "raw_begin"
        elif not inside:
            yield token


def _fields_in_order(ast: nodes.Template) -> list[str]:
    undeclared = meta.find_undeclared_variables(ast)
    return [n for n in dict.fromkeys(node.name for node in ast.find_all(nodes.Name)) if n in undeclared]


def _tested(ast: nodes.Template) -> set[str]:
    """Fields the template tests before use: optional, a seed without them renders another branch."""
    tests = [node.test for node in ast.find_all((nodes.If, nodes.CondExpr))]
    tests += [f.node for f in ast.find_all(nodes.Filter) if f.name in ("default", "d")]
    return {name.name for test in tests for name in test.find_all(nodes.Name)} | {
        test.name for test in tests if isinstance(test, nodes.Name)
    }


def _braced(names) -> str:
    return ", ".join("{" + n + "}" for n in names)


def compile_template(path: Path, text: str, system_text: str | None, available: tuple[str, ...]) -> Template:
    """A Template, its fields checked against those a seed can provide."""
    system_path = path.with_name(path.stem + SYSTEM_SUFFIX)
    asts = [(path, _parse(text, path))]
    if system_text is not None:
        asts.append((system_path, _parse(system_text, system_path)))
    fields, tested = [], set()
    for where, ast in asts:
        names = _fields_in_order(ast)
        unknown = [n for n in names if n not in BASE_FIELDS and n not in available]
        if unknown:
            raise TemplateError(
                f"template {where} names field(s) {_braced(unknown)} that no seed provides; available "
                f"fields: {_braced((*BASE_FIELDS, *available))} (a recipe's own seed fields go in its "
                'manifest.toml as seed_fields = ["..."])'
            )
        fields += [n for n in names if n not in fields]
        tested |= _tested(ast)
    required = tuple(n for n in fields if n not in BASE_FIELDS and n not in tested)
    return Template(path, text, system_text, tuple(fields), required)


@dataclass(frozen=True)
class Catalog:
    """Everything under one templates dir: formats, their audiences and shares, the templates."""

    root: Path
    formats: dict[str, dict]
    audience_names: dict[str, dict[str, str]]
    topic_clause: dict
    templates: dict[str, Template]  # by "language/format"
    difficulty_names: dict[str, dict[str, str]] = field(default_factory=dict)
    seed_fields: tuple[str, ...] = SEED_FIELDS

    def template(self, format_: str, language: str) -> Template:
        if f"{language}/{format_}" not in self.templates:
            raise TemplateError(
                f"no template for format {format_!r} in language {language!r}: "
                f"add {self.root / language / (format_ + '.txt')}"
            )
        return self.templates[f"{language}/{format_}"]


def _read_manifest(root: Path) -> tuple[dict, Path]:
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
    own = manifest.get("seed_fields", [])
    if not isinstance(own, list) or not all(isinstance(f, str) and f.isidentifier() for f in own):
        raise TemplateError(f'seed_fields in {manifest_path} must be a list of names, e.g. ["question"]')
    return manifest, manifest_path


def load_catalog(templates_dir: str | Path | None = None) -> Catalog:
    root = Path(templates_dir or DEFAULT_TEMPLATES_DIR)
    manifest, manifest_path = _read_manifest(root)
    formats = manifest.get("formats", {})
    available = tuple(dict.fromkeys((*SEED_FIELDS, *manifest.get("seed_fields", []))))
    templates = {}
    for path in sorted(root.glob("*/*.txt")):
        if path.name.endswith(SYSTEM_SUFFIX):
            if not path.with_name(path.name.removesuffix(SYSTEM_SUFFIX) + ".txt").is_file():
                raise TemplateError(f"system prompt {path} has no prompt template beside it")
            continue
        format_, language = path.stem, path.parent.name
        if format_ not in formats:
            raise TemplateError(f"template {path} has no [formats.{format_}] entry in {manifest_path}")
        system_path = path.with_name(format_ + SYSTEM_SUFFIX)
        system_text = system_path.read_text(encoding="utf-8") if system_path.is_file() else None
        text = path.read_text(encoding="utf-8")
        templates[f"{language}/{format_}"] = compile_template(path, text, system_text, available)
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
        available,
    )
