"""Policy: Cedar rules that turn Facts into a Decision (`engine.py`), loaded and validated by
`loader.py`; the built-in rules are `default.cedar`, their request shape `schema.cedarschema`."""

from safehold.policy.engine import PolicyEngine
from safehold.policy.loader import PolicyBundle, load_bundle

__all__ = ["PolicyBundle", "PolicyEngine", "load_bundle"]
