"""Values the approval and delay tests share: a clock they move, actions and decisions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from safehold.model import Action, Decision, Effect, Facts, Operation, Target, Verdict

START = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


class Clock:
    """Time that moves only when a test says so."""

    def __init__(self, now: datetime = START):
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def action(
    command: str = "rm -rf /srv/data",
    *,
    session: str = "s1",
    environment: str | None = "staging",
    cwd: str = "/home/dev/project",
) -> Action:
    return Action(
        "shell", command, cwd=cwd, session=session, environment=environment, agent="claude-code"
    )


def decision(
    verdict: Verdict = Verdict.ASK,
    *,
    environment: str | None = "staging",
    target: str = "/srv/data",
    delay_seconds: int | None = None,
    policy_version: str = "p1",
) -> Decision:
    op = Operation(
        id="fs:rm-recursive",
        effect=Effect.DESTRUCTIVE,
        reason="deletes a directory tree",
        source="rm -rf",
        targets=(Target("path", target, environment=environment),),
    )
    return Decision(
        verdict=verdict,
        reasons=("destructive-needs-approval: a human must approve",),
        rule_ids=("destructive-needs-approval",),
        facts=Facts(kind="shell", operations=(op,), environment=environment),
        delay_seconds=delay_seconds,
        policy_version=policy_version,
    )
