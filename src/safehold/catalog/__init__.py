"""safehold's knowledge of tools, as reviewable data files plus one loader and one matcher."""

from safehold.catalog.loader import Catalog, load_catalog, load_catalog_from
from safehold.catalog.matcher import Match, match_family

__all__ = ["Catalog", "Match", "load_catalog", "load_catalog_from", "match_family"]
