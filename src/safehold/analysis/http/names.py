"""What a name says about an operation nobody catalogued.

A GraphQL mutation, an AWS action or an MCP tool that no catalog entry describes is judged by
the words in its name (`volumeDelete`, `DeleteDBInstance`, `delete_branch`). The word lists are
data (`catalog/data/http/generic.yaml`); this module only splits names and looks words up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache
from importlib import resources

import yaml

from safehold.errors import CatalogError
from safehold.model import Effect

_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_WORDS = re.compile(r"[A-Z]+(?=[A-Z][a-z]|\d|\b|_|$)|[A-Z]?[a-z]+|[A-Z]+|\d+")


@dataclass(frozen=True, slots=True)
class Vocabulary:
    """The generic knowledge: verb classes and where credentials hide in a request."""

    destructive: frozenset[str]
    write: frozenset[str]
    read: frozenset[str]
    credential_headers: frozenset[str]
    credential_params: frozenset[str]
    credential_endpoints: tuple[str, ...] = ()


def words(name: str) -> list[str]:
    """`volumeInstanceBackupDelete` -> volume, instance, backup, delete; `DeleteDBInstance` ->
    delete, db, instance; `kubectl_delete` -> kubectl, delete."""
    return [w.lower() for w in _WORDS.findall(name)]


def classify(name: str, vocab: Vocabulary) -> Effect | None:
    """The effect a name announces, or None when its words say nothing either way."""
    ws = words(name)
    if any(w in vocab.destructive for w in ws):
        return Effect.DESTRUCTIVE
    if any(w in vocab.write for w in ws):
        return Effect.WRITE
    if any(w in vocab.read for w in ws):
        return Effect.READ
    return None


def _word_list(data: dict, key: str) -> frozenset[str]:
    value = data.get(key)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise CatalogError(f"generic.yaml: {key!r} must be a list of words")
    return frozenset(v.lower() for v in value)


@cache
def vocabulary() -> Vocabulary:
    """The built-in vocabulary, read once per process."""
    text = (
        resources.files("safehold.catalog")
        .joinpath("data/http/generic.yaml")
        .read_text(encoding="utf-8")
    )
    data = yaml.load(text, Loader=_LOADER)
    if not isinstance(data, dict):
        raise CatalogError("generic.yaml: expected a mapping")
    return Vocabulary(
        destructive=_word_list(data, "destructive_words"),
        write=_word_list(data, "write_words"),
        read=_word_list(data, "read_words"),
        credential_headers=_word_list(data, "credential_headers"),
        credential_params=_word_list(data, "credential_params"),
        credential_endpoints=tuple(sorted(_word_list(data, "credential_endpoints"))),
    )
