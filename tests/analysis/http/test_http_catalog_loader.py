"""The provider and MCP catalog loaders: broken files fail loudly, user files extend the
built-in catalog, and ids never collide with the shell catalog's."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from safehold.analysis.http import catalog as http_catalog
from safehold.analysis.http.analyzer import HttpAnalyzer
from safehold.analysis.interface import AnalysisContext
from safehold.analysis.mcp import catalog as mcp_catalog
from safehold.errors import CatalogError
from safehold.model import Action, Effect

GOOD_ENTRY = {
    "id": "acme:wipe",
    "effect": "irreversible",
    "reason": "Wipes the tenant.",
    "when": {"method": "POST", "path": "/v1/tenants/{tenant}/wipe"},
    "targets": {"kind": "tenant", "from": "path:tenant"},
    "examples": {"match": ["POST https://api.acme.test/v1/tenants/t1/wipe"],
                 "no_match": ["GET https://api.acme.test/v1/tenants/t1"]},
}


def provider(**changes):
    entry = {**GOOD_ENTRY, **changes}
    return {"provider": "acme", "hosts": ["api.acme.test"], "entries": [entry]}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (provider(effect="catastrophic"), "unknown effect"),
        (provider(id="other:wipe"), "must be a string starting with 'acme:'"),
        (provider(reason=""), "reason is required"),
        (provider(examples={"match": ["POST https://api.acme.test/x"]}), "no_match"),
        (provider(when={"method": "POST", "colour": "red"}), "unknown `when` keys"),
        (provider(when={"text": "(unclosed"}), "bad regular expression"),
        (provider(targets={"kind": "x", "from": "body:x"}), "target source"),
        (provider(embedded={"kind": "sql"}), "`embedded` needs kind and from"),
        ({"provider": "acme", "entries": []}, "`hosts` is required"),
        ({"hosts": ["x"]}, "`provider` name"),
        ([1, 2], "`provider` name"),
    ],
)
def test_broken_provider_files_are_loud(data, message):
    with pytest.raises(CatalogError, match=message):
        http_catalog.parse_provider(data, "acme.yaml")


def test_duplicate_ids_are_refused():
    p = http_catalog.parse_provider(provider(), "a.yaml")
    with pytest.raises(CatalogError, match="already defined"):
        http_catalog.build([p, p])


def test_user_provider_file_extends_the_builtin_catalog(tmp_path):
    path = tmp_path / "acme.yaml"
    path.write_text(yaml.safe_dump(provider()), encoding="utf-8")
    cat = http_catalog.load([path])
    analyzer = HttpAnalyzer(catalog=cat)
    request = "POST https://api.acme.test/v1/tenants/t1/wipe"
    facts = analyzer.analyze(request, {}, AnalysisContext(action=Action("http", request)))
    assert [(op.id, op.effect) for op in facts.operations] == [("acme:wipe", Effect.IRREVERSIBLE)]
    assert facts.operations[0].targets[0].name == "t1"
    assert "railway:volumeDelete" in {e.id for e in cat.entries()}


def test_unreadable_user_file_is_loud(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("provider: [unclosed", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"bad\.yaml"):
        http_catalog.load([bad])


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"family": "x", "servers": ["x"], "entries": [{"id": "x:a", "effect": "read",
          "reason": "r", "examples": {"match": [{}], "no_match": [{}]}}]}, "`tools` is required"),
        ({"family": "x", "servers": ["x"], "entries": [{"id": "x:a", "tools": "t",
          "effect": "read", "reason": "r", "embed": [{"arg": "a", "kind": "python"}],
          "examples": {"match": [{}], "no_match": [{}]}}]}, "embed kind"),
        ({"family": "x", "entries": []}, "`servers` is required"),
    ],
)
def test_broken_mcp_files_are_loud(data, message):
    with pytest.raises(CatalogError, match=message):
        mcp_catalog.parse_family(data, "x.yaml")


def _shell_catalog_ids() -> set[str]:
    root = Path(http_catalog.builtin_files()[0]).parent.parent / "shell"
    ids: set[str] = set()
    for path in sorted(root.glob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        ids.update(e.get("id") for e in data.get("entries") or () if isinstance(e, dict))
    return ids


def test_ids_are_unique_across_shell_http_and_mcp_catalogs():
    http_ids = {e.id for e in http_catalog.builtin().entries()}
    mcp_ids = {e.id for e in mcp_catalog.builtin().entries()}
    assert not http_ids & mcp_ids
    assert not (http_ids | mcp_ids) & _shell_catalog_ids()

