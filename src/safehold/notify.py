"""Webhook notifications: new approval requests and production denials reach people.

Messages are Slack-compatible (`{"text": …, "blocks": …}`; most chat tools accept the same
shape) and link to the approval page. Posting happens on a small background pool with a short
timeout, so a slow or dead webhook never delays a decision; failures are logged and audited.
The pool's threads are joined at interpreter exit, so a short-lived hook process still
delivers what it queued (bounded by the timeout).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any
from urllib.parse import urlsplit

from safehold.approvals import Approval, approval_url
from safehold.audit.log import AuditLog
from safehold.audit.redact import redact_text
from safehold.config import NotificationSettings, WebhookSettings
from safehold.model import Action, Decision

log = logging.getLogger(__name__)
_MAX_INPUT = 400


class Notifier:
    """Posts events to the configured webhooks that subscribe to them."""

    def __init__(
        self,
        settings: NotificationSettings,
        *,
        base_url: str,
        audit: AuditLog | None = None,
        background: bool = True,
    ):
        self.settings = settings
        self.base_url = base_url.rstrip("/")
        self.audit = audit
        self._pool = (
            ThreadPoolExecutor(max_workers=2, thread_name_prefix="safehold-notify")
            if (background and settings.webhooks)
            else None
        )

    def subscribed(self, event: str) -> list[WebhookSettings]:
        return [h for h in self.settings.webhooks if event in h.events]

    # -- events -------------------------------------------------------------------------------

    def approval_requested(self, approval: Approval) -> list[Future[bool]]:
        url = approval_url(self.base_url, approval.id)
        env = approval.environment or "unknown environment"
        summary = summarize_action(approval.action)
        reasons = approval.decision.get("reasons") or []
        lines = [
            f"*Approval requested* ({env}) by `{approval.requester}`: {summary}",
            *(f"• {r}" for r in reasons[:3]),
        ]
        if approval.stated_reason:
            lines.append(f"Stated reason: {redact_text(approval.stated_reason)[:300]}")
        if approval.required_approvals > 1:
            lines.append(f"Needs {approval.required_approvals} approvers.")
        lines.append(f"<{url}|Review {approval.id}> (expires {approval.expires_at:%H:%M} UTC)")
        return self.send(
            "approval.requested", _message("\n".join(lines), url, "Review"), subject=approval.id
        )

    def approval_decided(self, approval: Approval) -> list[Future[bool]]:
        url = approval_url(self.base_url, approval.id)
        who = ", ".join(v.approver for v in approval.votes) or "nobody"
        summary = summarize_action(approval.action)
        text = f"Approval {approval.id} is *{approval.state}* ({who}): {summary}"
        return self.send("approval.decided", _message(text, url, "Details"), subject=approval.id)

    def denied(self, action: Action, decision: Decision, *, protected: bool) -> list[Future[bool]]:
        """A denial worth waking someone for: only in a protected environment."""
        if not protected:
            return []
        env = decision.facts.environment or action.environment or "unknown environment"
        summary = summarize_action({"kind": action.kind, "input": action.input})
        text = "\n".join(
            [
                f"*Denied* in {env}: {summary}",
                *(f"• {r}" for r in decision.reasons[:3]),
                f"Agent {action.agent or 'unknown'}, session {action.session or 'unknown'}.",
            ]
        )
        return self.send("deny.production", {"text": text}, subject=action.session)

    def delay_created(self, delay_id: str, summary: str, run_at: str) -> list[Future[bool]]:
        text = f"Delayed until {run_at}: {summary} ({delay_id}); cancel it before then to stop it."
        return self.send("delay.created", {"text": text}, subject=delay_id)

    def backup_alert(self, event: str, text: str, subject: str) -> list[Future[bool]]:
        """`backup.rpo-exceeded`, `drill.failed` or `snapshot.failed`, with a link to Backups."""
        url = f"{self.base_url}/backups"
        return self.send(event, _message(text, url, "Backups"), subject=subject)

    def checkpoint(self, checkpoint: Any) -> list[Future[bool]]:
        """A signed audit checkpoint, so a copy lives outside safehold's own machine."""
        text = (
            f"Audit checkpoint: {checkpoint.seq} records, head {checkpoint.head_hash[:16]}…, "
            f"signed {checkpoint.ts} by key {checkpoint.key_id}"
        )
        body = {"text": text, "checkpoint": json.loads(checkpoint.line())}
        return self.send("audit.checkpoint", body, subject=str(checkpoint.seq))

    # -- delivery -----------------------------------------------------------------------------

    def send(
        self, event: str, message: Mapping[str, Any], *, subject: str | None = None
    ) -> list[Future[bool]]:
        futures: list[Future[bool]] = []
        for hook in self.subscribed(event):
            if self._pool is None:
                done: Future[bool] = Future()
                done.set_result(self._post(hook, event, message, subject))
                futures.append(done)
            else:
                futures.append(self._pool.submit(self._post, hook, event, message, subject))
        return futures

    def _post(
        self, hook: WebhookSettings, event: str, message: Mapping[str, Any], subject: str | None
    ) -> bool:
        import httpx  # imported on first delivery: hook processes rarely post

        try:
            response = httpx.post(hook.url, json=dict(message), timeout=hook.timeout_seconds)
            response.raise_for_status()
            return True
        except Exception as exc:  # a webhook must never take the guard down
            where = _where(hook.url)
            if isinstance(exc, httpx.HTTPStatusError):
                error = f"HTTP {exc.response.status_code}"
            else:
                error = f"{type(exc).__name__}: {exc}".replace(hook.url, where)[:500]
            log.warning("webhook %s for %s failed: %s", where, event, error)
            if self.audit is not None:
                try:
                    self.audit.append(
                        "notify.failed",
                        {"event": event, "webhook": where, "subject": subject, "error": error},
                    )
                except Exception:
                    log.exception("could not audit a failed webhook")
            return False

    def close(self, wait: bool = True) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait)


def _where(url: str) -> str:
    """Scheme and host only: webhook URLs carry their secret in the path."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}"


def summarize_action(action: Mapping[str, Any]) -> str:
    raw = action.get("input")
    text = raw if isinstance(raw, str) else _mapping_summary(raw)
    text = redact_text(" ".join(str(text).split()))
    if len(text) > _MAX_INPUT:
        text = text[: _MAX_INPUT - 1] + "…"
    text = text.replace("`", "'")
    return f"{action.get('kind', '?')} `{text}`"


def _mapping_summary(raw: Any) -> str:
    if isinstance(raw, Mapping):
        if "url" in raw:
            return f"{raw.get('method', 'GET')} {raw['url']}"
        if "tool" in raw:
            return f"{raw.get('server', '')}/{raw['tool']}"
    return str(raw)


def _message(text: str, url: str, label: str) -> dict[str, Any]:
    return {
        "text": text,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "actions",
                "elements": [
                    {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url}
                ],
            },
        ],
    }
