"""Which libraries make code reach the network or a database (data: `code_modules.yaml`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from safehold.catalog.files import read_yaml
from safehold.errors import CatalogError

MODULES_FILE = Path(__file__).parents[2] / "catalog" / "data" / "code_modules.yaml"


@dataclass(frozen=True, slots=True)
class ModuleKinds:
    network: frozenset[str]
    database: dict[str, str]  # module -> SQL dialect ("" when it does not speak SQL)

    def reach(self, module: str) -> str | None:
        """'network', 'database' or None for a module name (`a.b.c` is judged by `a`, and a
        scoped npm name `@scope/pkg` by its scope too)."""
        top = module.split(".")[0] if not module.startswith("@") else module
        for name in (module, top, module.split("/")[0]):
            if name in self.database:
                return "database"
            if name in self.network:
                return "network"
        return None

    def dialect(self, module: str) -> str | None:
        for name in (module, module.split(".")[0], module.split("/")[0]):
            if name in self.database:
                return self.database[name] or None
        return None


@cache
def module_kinds(language: str) -> ModuleKinds:
    raw = read_yaml(MODULES_FILE, "code module list")
    section = raw.get(language) if isinstance(raw, dict) else None
    if not isinstance(section, dict):
        raise CatalogError(f"{MODULES_FILE}: no section for {language!r}")
    network = section.get("network") or []
    database = section.get("database") or {}
    if not isinstance(network, list) or not isinstance(database, dict):
        raise CatalogError(f"{MODULES_FILE}: {language}: network must be a list and database a "
                           "mapping")
    return ModuleKinds(frozenset(str(n) for n in network),
                       {str(k): str(v or "") for k, v in database.items()})
