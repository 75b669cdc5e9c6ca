"""PromptBuilder: one or more prompts per seed, chosen deterministically."""

import xxhash
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.prompts.templates import MissingField, TemplateError, load_catalog

SYSTEM_PROMPT = keys.SYSTEM_PROMPT


def unit_hash(*parts) -> float:
    """A stable number in [0, 1) for these parts: same seed, same choice, on every rerun."""
    return xxhash.xxh64_intdigest(":".join(map(str, parts)).encode()) / 2**64


def pick_weighted(weights: dict[str, float], u: float) -> str:
    total = sum(weights.values())
    acc = 0.0
    for name, weight in weights.items():
        acc += weight / total
        if u < acc:
            return name
    return name


class PromptBuilder(PipelineStep):
    """Turn each seed into `variants` prompts, recording format, audience, language, topic, prompt.

    Each prompt is its format's Jinja2 template (prompts/<language>/<format>.txt) filled with the
    seed: {{ topic }}, {{ context }}, {{ audience }} (as named in the language; {{ audience_key }} as
    the manifest names it), {{ topic_clause }} (true for a deterministic
    share of the seeds that have a topic), any metadata field of the seed ({{ title }}, a recipe's
    own), and the enrichment fields {{ related_concepts }} and {{ prerequisites }} (a list,
    rendered "a, b, c") and {{ difficulty }} (a level, rendered by its name in the language, e.g.
    "middle school"). A format with a `<format>.system.txt` also gets its system prompt, under
    metadata `system_prompt`.

    A seed that lacks a field its template prints, or has it empty, gets no prompt for that
    variant: it is counted as `skipped_missing_<field>`, with a warning naming the template and the
    field once per template and field. A field the template tests first (`{% if prerequisites %}`)
    is optional: a seed without it renders the other branch, and each prompt whose seed had it is
    counted as `with_<field>`.

    Args:
        mix: share per format (default: the manifest's shares), e.g. {"textbook": 1}.
        audiences: restrict audiences, e.g. ["college_students"], each equally likely; or weigh them,
            e.g. {"middle_school_students": 0.4, "college_students": 0.3, ...} (Cosmopedia v2's
            textbooks). Each format
            keeps those it supports, and their shares are renormalized among them.
        language: template language ("en", "ko", ...).
        variants: distinct prompts per seed (different format/audience where possible).
        topic_clause_share: how often to add "within the context of <topic>" (default: manifest, 0.5).
        salt: change it to draw a different but still deterministic assignment.
        templates_dir: a folder like prompts/ with manifest.toml and <language>/<format>.txt.
    """

    name = "📝 Prompts"
    type = "📝 - PROMPTS"

    def __init__(
        self,
        mix: dict[str, float] | None = None,
        audiences: list[str] | dict[str, float] | None = None,
        language: str = "en",
        variants: int = 1,
        topic_clause_share: float | None = None,
        salt: str = "cosmo",
        templates_dir: str | None = None,
    ):
        super().__init__()
        self.catalog = load_catalog(templates_dir)
        self.mix = self._check_mix(mix)
        self.audiences = self._check_audiences(audiences)
        self.language = language
        if variants < 1:
            raise ConfigError(f"variants must be >= 1, got {variants}")
        self.variants = variants
        clause = self.catalog.topic_clause
        self.topic_clause_share = (
            clause.get("share", 0.5) if topic_clause_share is None else topic_clause_share
        )
        self.salt = salt
        self._warned = set()
        self._audience_names = self.catalog.audience_names.get(language, {})
        self._difficulty_names = self.catalog.difficulty_names.get(language, {})
        for format_ in self.mix:
            self.catalog.template(format_, language)  # every chosen format must exist in this language

    def _check_mix(self, mix):
        formats = self.catalog.formats
        mix = mix or {name: spec.get("share", 0) for name, spec in formats.items()}
        unknown = [name for name in mix if name not in formats]
        if unknown:
            raise TemplateError(f"unknown format(s) {unknown} in the mix; known formats: {sorted(formats)}")
        bad = {name: share for name, share in mix.items() if not isinstance(share, (int, float)) or share < 0}
        if bad:
            raise TemplateError(f"format shares must be numbers >= 0, got {bad}")
        mix = {name: float(share) for name, share in mix.items() if share > 0}
        if not mix:
            raise TemplateError("the format mix gives every format a share of 0")
        return mix

    def _check_audiences(self, audiences):
        if audiences is None:
            return None
        if isinstance(audiences, dict):
            bad = {a: w for a, w in audiences.items() if not isinstance(w, int | float) or w < 0}
            if bad or not any(audiences.values()):
                raise TemplateError(f"audience shares must be numbers >= 0, not all 0; got {audiences}")
            audiences = {a: float(w) for a, w in audiences.items() if w > 0}
        known = {a for spec in self.catalog.formats.values() for a in spec["audiences"]}
        unknown = [a for a in audiences if a not in known]
        if unknown:
            raise TemplateError(f"unknown audience(s) {unknown}; known audiences: {sorted(known)}")
        if not any(self._audiences_for(f, audiences) for f in self.mix):
            raise TemplateError(
                f"no format in the mix {sorted(self.mix)} is written for audiences {audiences}"
            )
        return audiences

    def _audiences_for(self, format_: str, allowed=None) -> list[str]:
        audiences = self.catalog.formats[format_]["audiences"]
        allowed = self.audiences if allowed is None else allowed
        return [a for a in audiences if allowed is None or a in allowed]

    def choose(self, seed_id: str, variant: int, taken: set) -> tuple[str, str]:
        """Format and audience for one variant, avoiding combinations this seed already has."""
        choice = None
        for attempt in range(16):
            mix = {f: s for f, s in self.mix.items() if self._audiences_for(f)}
            format_ = pick_weighted(mix, unit_hash(self.salt, "format", seed_id, variant, attempt))
            audiences = self._audiences_for(format_)
            u = unit_hash(self.salt, "audience", seed_id, variant, attempt)
            if isinstance(self.audiences, dict):
                audience = pick_weighted({a: self.audiences[a] for a in audiences}, u)
            else:
                audience = audiences[int(u * len(audiences))]
            choice = (format_, audience)
            if choice not in taken:
                break
        return choice

    def render(self, doc: Document, format_: str, audience: str, variant: int) -> str:
        """The filled template; MissingField when it prints a field the document lacks."""
        return self._render(doc, format_, audience, variant)[0]

    def _render(self, doc: Document, format_: str, audience: str, variant: int):
        """The prompt, the system prompt (or None), and the optional fields this seed filled."""
        meta = doc.metadata
        template = self.catalog.template(format_, self.language)
        topic = meta.get(keys.TOPIC) or ""
        values = {
            "topic": topic,
            "context": meta.get(keys.CONTEXT, doc.text),
            "audience": self._audience_names.get(audience, audience.replace("_", " ")),
            "audience_key": audience,
            "topic_clause": bool(topic)
            and unit_hash(self.salt, "clause", meta.get(keys.SEED_ID, doc.id), variant)
            < self.topic_clause_share,
        }
        filled = []
        for name in template.fields:
            if name in values:
                continue
            value = self.field_value(meta, name)
            if value is not None:
                values[name] = value
                if name not in template.required:
                    filled.append(name)
            elif name in template.required:
                raise MissingField(name)
        return template.render(**values), template.render_system(**values), filled

    def field_value(self, meta: dict, name: str):
        """A seed field as the template sees it, None when missing or empty: an enrichment list as
        "a, b, c", a difficulty level by its name in the language, anything else as it is."""
        value = meta.get(name)
        if name in keys.ENRICHMENT_FIELDS:
            if isinstance(value, list | tuple):
                value = ", ".join(str(item).strip() for item in value if str(item).strip())
            elif value is not None:
                value = str(value).strip()
            if value and name == keys.DIFFICULTY:
                value = self._difficulty_names.get(value, value.replace("_", " "))
        empty = (
            not value.strip()
            if isinstance(value, str)
            else isinstance(value, list | tuple | dict) and not value
        )
        return None if empty else value

    def skip_missing(self, seed_id: str, format_: str, field: str) -> None:
        """Count a prompt whose template needs a field this seed lacks; warn once per template and field."""
        self.stat_update(f"skipped_missing_{field}")
        template = self.catalog.template(format_, self.language)
        if (template.path, field) not in self._warned:
            self._warned.add((template.path, field))
            remedy = (
                "run an enrichment step (HeuristicEnricher, TopicEnricher) before PromptBuilder"
                if field in keys.ENRICHMENT_FIELDS
                else f"give the seeds a {field!r}"
            )
            logger.warning(
                f"template {template.path} prints {{{{ {field} }}}}, which seed {seed_id!r} lacks: its prompt "
                f"is skipped and counted as skipped_missing_{field} (this warning is shown once per template "
                f"and field); {remedy}, or make the field optional with {{% if {field} %}}...{{% endif %}}"
            )

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        for seed in data:
            seed_id = seed.metadata.get(keys.SEED_ID, seed.id)
            taken = set()
            for variant in range(self.variants):
                format_, audience = self.choose(seed_id, variant, taken)
                taken.add((format_, audience))
                try:
                    prompt, system, filled = self._render(seed, format_, audience, variant)
                except MissingField as missing:
                    self.skip_missing(seed_id, format_, missing.field)
                    continue
                meta = dict(seed.metadata)
                meta.pop(keys.CONTEXT, None)
                meta.pop(SYSTEM_PROMPT, None)  # an earlier stage's prompt (an outline's) is not this one's
                meta.update(
                    {
                        keys.SEED_ID: seed_id,
                        keys.FORMAT: format_,
                        keys.AUDIENCE: audience,
                        keys.LANGUAGE: self.language,
                        keys.VARIANT: variant,
                        keys.PROMPT: prompt,
                    }
                )
                if system is not None:
                    meta[SYSTEM_PROMPT] = system
                self.stat_update("prompts", f"format_{format_}", f"audience_{audience}")
                for name in filled:
                    self.stat_update(f"with_{name}")
                yield Document(text="", id=f"{seed_id}/{variant}", metadata=meta)
