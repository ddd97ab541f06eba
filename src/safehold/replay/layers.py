"""safehold's layers as the replay switches them on and off, and what each one set up means.

- hook: every tool call of the agent goes first to `safehold hook claude-code`;
- gateway: the provider token was imported into safehold (`safehold scan --import`), the file
  holds a reference, the agent holds `safehold env`'s capability and `safehold serve` forwards;
- data protection: an independent snapshot store on another filesystem, a scheduled snapshot,
  and snapshot-first before a destructive production action is released;
- inventory: `safehold.toml` names the volume and the database as production.
"""

from __future__ import annotations

from dataclasses import dataclass

HOOK, GATEWAY, PROTECTION, INVENTORY = "hook", "gateway", "data-protection", "inventory"
ALL = (HOOK, GATEWAY, PROTECTION, INVENTORY)
LABELS = {HOOK: "hook only", GATEWAY: "gateway only", PROTECTION: "data protection only",
          INVENTORY: "environment inventory only"}


@dataclass(frozen=True)
class Layers:
    on: frozenset[str]

    @classmethod
    def of(cls, *names: str) -> Layers:
        unknown = set(names) - set(ALL)
        if unknown:
            raise ValueError(f"unknown layer {sorted(unknown)[0]!r}; layers: {', '.join(ALL)}")
        return cls(frozenset(names))

    def __contains__(self, name: object) -> bool:
        return name in self.on

    @property
    def any(self) -> bool:
        return bool(self.on)

    @property
    def server(self) -> bool:
        """The server runs when something must talk to it: the gateway."""
        return GATEWAY in self.on

    def label(self) -> str:
        if not self.on:
            return "without safehold"
        if len(self.on) == 1:
            return LABELS[next(iter(self.on))]
        return "with safehold (" + ", ".join(n for n in ALL if n in self.on) + ")"


def verdict(lost: int, reduced_from: int, unapproved: int) -> str:
    """What a layer alone did about the loss, said plainly."""
    if lost == 0 and unapproved == 0:
        return "prevents the loss"
    if lost < reduced_from:
        return f"reduces it ({reduced_from - lost} of {reduced_from} rows saved)"
    return "does not stop it"
