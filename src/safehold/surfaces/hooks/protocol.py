"""What every agent protocol module provides, and the values it exchanges with the runner.

A protocol module turns the agent's pre-tool JSON into a `ToolCall` and an `Outcome` back into
the exact bytes and exit status the agent honours. The runner never sees an agent's field names,
and a protocol module never decides anything.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from safehold.model import Action


class HookInputError(Exception):
    """The agent's JSON cannot be trusted: missing or mistyped fields. Always a refusal."""


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One tool call an agent is about to make. `action` is None for tools safehold does not
    judge (reads, searches, todo lists): those get no opinion, so the agent's own rules apply."""

    agent: str
    tool: str
    action: Action | None
    session: str | None = None
    tool_use_id: str | None = None
    cwd: str | None = None
    parent_session: str | None = None
    stated_reason: str | None = None
    #: whether the agent honours an ask for this very call (None: the protocol's `can_ask`);
    #: Cursor accepts `ask` on `preToolUse` but does not enforce it
    can_ask: bool | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    """What the agent is told. `verdict` is allow, deny, ask, or none (no opinion)."""

    verdict: str
    agent_message: str = ""
    user_message: str = ""


NO_OPINION = Outcome("none")


@dataclass(frozen=True, slots=True)
class Answer:
    """The hook process's whole reply: what it prints and how it exits."""

    stdout: str = ""
    stderr: str = ""
    exit_code: int = 0


class Protocol(ABC):
    """One agent's hook dialect."""

    #: the name used on the command line: `safehold hook <name>`
    name: ClassVar[str]
    #: the agent can ask its user to confirm a call (so `ask` needs no server)
    can_ask: ClassVar[bool] = False
    #: answering allow skips the agent's own permission prompt, so safehold's "nothing to
    #: object to" is silence unless the user opted into auto-approval (SAFEHOLD_AUTO_APPROVE=1)
    allow_skips_prompt: ClassVar[bool] = False

    def __init__(self, environ: Mapping[str, str] | None = None):
        #: the hook process's environment, where agents report e.g. the project directory
        self.environ: Mapping[str, str] = environ if environ is not None else {}

    @abstractmethod
    def parse(self, payload: Mapping[str, Any]) -> ToolCall:
        """The tool call in this payload; raises HookInputError when it cannot be trusted."""

    @abstractmethod
    def answer(self, outcome: Outcome) -> Answer:
        """The reply that makes the agent do what `outcome` says."""

    @abstractmethod
    def refuse(self, reason: str) -> Answer:
        """The hardest block this agent honours, for when safehold itself failed."""


def text(payload: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    """A string field, or None; a present field of another type is never trusted."""
    value = payload.get(key)
    if value is None:
        if required:
            raise HookInputError(f"the hook input has no {key!r}")
        return None
    if not isinstance(value, str):
        raise HookInputError(f"{key!r} in the hook input is a {type(value).__name__}, not a string")
    if required and not value.strip():
        raise HookInputError(f"{key!r} in the hook input is empty")
    return value


def mapping(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    """An object field; agents that send it as a JSON string (Cursor, Copilot) are decoded."""
    value = payload.get(key)
    if value is None:
        raise HookInputError(f"the hook input has no {key!r}")
    if isinstance(value, str):
        import json

        try:
            value = json.loads(value) if value.strip() else {}
        except ValueError as exc:
            raise HookInputError(f"{key!r} is a string that is not JSON: {exc}") from None
    if not isinstance(value, Mapping):
        kind = type(value).__name__
        raise HookInputError(f"{key!r} in the hook input is a {kind}, not an object")
    return value
