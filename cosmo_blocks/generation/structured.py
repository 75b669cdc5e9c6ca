"""StructuredAnnotator: one question to the LLM per document, its answer forced into a JSON schema.

Stages that need a parseable answer (a cluster's label and rating, a subtopic's children, a topic's
prerequisites) ask through a generation block with vLLM's structured outputs: the engine only samples
tokens that keep the answer valid against the schema, so a 135M model answers in shape as reliably as
Mixtral. The answer is still parsed and validated here: a server that ignores the constraint, or a
generation cut at `max_tokens`, is a counted skip, never a silently wrong field.
"""

import json
import re
from collections.abc import Iterable

import orjson
from datatrove.data import Document, DocumentsPipeline
from datatrove.pipeline.base import PipelineStep
from datatrove.utils.logging import logger

from cosmo_blocks import keys
from cosmo_blocks.errors import ConfigError
from cosmo_blocks.generation.base import GenerationBlock

# the first {...} of a free-text answer, for asking without the constraint
_JSON_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def json_constraint(schema: dict) -> dict:
    """vLLM's `structured_outputs` for a JSON schema. No free whitespace: a small model otherwise
    spends its tokens on newlines between fields and can run out of them mid-answer."""
    return {"json": schema, "disable_any_whitespace": True}


def check_schema(schema: dict) -> None:
    import jsonschema

    if not isinstance(schema, dict) or not schema:
        raise ConfigError(f"a structured question needs a JSON schema (a dict), got {schema!r}")
    try:
        jsonschema.Draft202012Validator.check_schema(schema)
    except jsonschema.SchemaError as e:
        raise ConfigError(f"invalid JSON schema: {e.message}") from None


class StructuredAnnotator(PipelineStep):
    """Ask `generator` one question per document (`prompt(doc)`), parse the answer as JSON valid
    against `schema`, and `apply` it to the document, which keeps its text.

    Subclasses implement `prompt` and may override `apply` (rename fields, yield several documents).
    A document whose answer does not parse is dropped with a counted reason (`unparsed_invalid_json`,
    `unparsed_schema`, `unanswered` when the generator skipped it), or kept unchanged with
    `keep_unanswered=True`. The generator's own counts (generated, tokens, resumed) are merged into
    this step's stats, and its journal resumes a killed task per document as in any generation stage:
    give it a journal folder of its own (`opts.generator(journal_dir=f"{opts.journal_dir}/labels")`).

    Args:
        generator: the generation block that answers (VLLMGenerator or OpenAIServerGenerator); its
            sampling gains `structured_outputs`, which needs vLLM (in-process or its server).
        schema: the answer's JSON schema (default: the class attribute `schema`).
        structured: False asks the same question without the constraint (to measure what it buys).
        keep_unanswered: keep documents whose answer does not parse, without the answer's fields.
    """

    type = "🧭 - TOPICS"
    schema: dict | None = None

    def __init__(
        self,
        generator: GenerationBlock,
        schema: dict | None = None,
        structured: bool = True,
        keep_unanswered: bool = False,
    ):
        super().__init__()
        if not isinstance(generator, GenerationBlock):
            raise ConfigError(
                f"{type(self).__name__} needs a generation block, got {type(generator).__name__}"
            )
        self.schema = schema if schema is not None else type(self).schema
        check_schema(self.schema)
        self.validation_schema = self.schema  # what an answer must satisfy; a subclass may relax it
        self.generator = generator
        self.structured = structured
        self.keep_unanswered = keep_unanswered
        generator.structured_outputs = json_constraint(self.schema) if structured else None

    def prompt(self, doc: Document) -> str:
        raise NotImplementedError

    def apply(self, doc: Document, answer: dict) -> Iterable[Document]:
        doc.metadata.update(answer)
        yield doc

    def parse(self, text: str) -> tuple[dict | None, str]:
        """The answer and "", or None and why it does not parse."""
        import jsonschema

        candidate = text.strip()
        if not self.structured and not candidate.startswith("{"):
            found = _JSON_OBJECT.search(candidate)
            candidate = found.group(0) if found else candidate
        try:
            answer = orjson.loads(candidate)
        except orjson.JSONDecodeError:
            try:  # a raw control character inside a string, which some grammar backends let through
                answer = json.loads(candidate, strict=False)
            except json.JSONDecodeError:
                return None, "invalid_json"
        try:
            jsonschema.validate(answer, self.validation_schema)
        except jsonschema.ValidationError:
            return None, "schema"
        return answer, ""

    def run(self, data: DocumentsPipeline, rank: int = 0, world_size: int = 1) -> DocumentsPipeline:
        waiting: dict[str, Document] = {}
        try:
            for answer in self.generator.run(self._questions(data, waiting), rank, world_size):
                doc = waiting.pop(answer.id)
                with self.track_time():
                    parsed, reason = self.parse(answer.text)
                if parsed is None:
                    yield from self._unanswered(doc, f"unparsed_{reason}", answer.text)
                    continue
                self.stat_update("answered")
                yield from self.apply(doc, parsed)
            for doc in waiting.values():
                yield from self._unanswered(doc, "unanswered", "")
        finally:
            self.stats.stats = self.stats.stats + self.generator.stats.stats
            self.stats.time_stats = self.stats.time_stats + self.generator.stats.time_stats
            self.generator.stats.stats.clear()

    def _questions(self, data: DocumentsPipeline, waiting: dict) -> DocumentsPipeline:
        for doc in data:
            with self.track_time():
                prompt = self.prompt(doc)
            self.stat_update("asked")
            waiting[doc.id] = doc
            yield Document(text="", id=doc.id, metadata={keys.PROMPT: prompt})

    def _unanswered(self, doc: Document, reason: str, text: str) -> Iterable[Document]:
        self.stat_update(reason)
        logger.warning(f"{type(self).__name__}: no usable answer for {doc.id} ({reason}): {text[:200]!r}")
        if self.keep_unanswered:
            yield doc
