"""Adapters from each seed source's raw record to one seed shape.

A seed is `{"text", "id", "title", "url", "source"}`; everything else in the record
is kept in metadata. Field names follow the public Hugging Face copies of each source.
"""

from collections.abc import Callable

from cosmo_blocks.errors import ConfigError


def _first(record: dict, *names: str):
    for name in names:
        value = record.get(name)
        if value:
            return value
    return None


def _meta(record: dict) -> dict:
    meta = record.get("meta") or record.get("metadata") or {}
    return meta if isinstance(meta, dict) else {}


def generic(record: dict) -> dict:
    return {
        "text": record.get("text"),
        "id": record.get("id"),
        "title": record.get("title"),
        "url": record.get("url"),
    }


def wikipedia(record: dict) -> dict:
    # wikimedia/wikipedia: id, url, title, text
    return generic(record)


def openwebmath(record: dict) -> dict:
    # open-web-math: url, text, date, metadata (a JSON string); no title
    return {"text": record.get("text"), "id": record.get("id"), "title": None, "url": record.get("url")}


def automathtext(record: dict) -> dict:
    # math-ai/AutoMathText: web subsets carry url+text, arXiv subsets title/abstract+text, both a `meta` dict
    meta = _meta(record)
    return {
        "text": _first(record, "text", "abstract"),
        "id": _first(record, "id") or meta.get("id"),
        "title": _first(record, "title") or meta.get("title"),
        "url": _first(record, "url") or meta.get("url"),
    }


def khanacademy(record: dict) -> dict:
    # course outlines: course > unit > lesson, the text in `text`/`content`/`description`
    path = [record[k] for k in ("course", "unit", "lesson") if record.get(k)]
    return {
        "text": _first(record, "text", "content", "description"),
        "id": record.get("id"),
        "title": _first(record, "title") or (" > ".join(path) if path else None),
        "url": record.get("url"),
    }


def stanford(record: dict) -> dict:
    # Stanford Encyclopedia of Philosophy dumps: title/entry name, preamble and text
    body = _first(record, "text", "content")
    preamble = record.get("preamble")
    return {
        "text": f"{preamble}\n\n{body}" if preamble and body else (body or preamble),
        "id": _first(record, "id", "shorturl"),
        "title": _first(record, "title", "entry", "category"),
        "url": _first(record, "url", "link") or _meta(record).get("url"),
    }


SOURCES: dict[str, Callable[[dict], dict]] = {
    "generic": generic,
    "wikipedia": wikipedia,
    "openwebmath": openwebmath,
    "automathtext": automathtext,
    "khanacademy": khanacademy,
    "stanford": stanford,
}


# The `seed_data` of each source's seeds, where it is not the source's name: the released Cosmopedia's
# subset name for the same kind of seed (cosmo_blocks.prompts.vocabulary), so one filter selects its
# records and ours. Cosmopedia's `stanford` seeds are Stanford course outlines; ours are encyclopedia
# entries, so they get a name of their own rather than one that would select both.
SEED_DATA = {
    "automathtext": "auto_math_text",
    "stanford": "stanford_encyclopedia",
}


def seed_data_of(source: str) -> str:
    """The `seed_data` value of this source's seeds."""
    return SEED_DATA.get(source, source)


def get_adapter(source: str) -> Callable[[dict], dict]:
    if source not in SOURCES:
        raise ConfigError(f"unknown seed source {source!r}; choose one of {', '.join(SOURCES)}")
    return SOURCES[source]
