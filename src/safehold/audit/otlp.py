"""Audit records as OpenTelemetry logs (OTLP/JSON), for collectors and log backends.

Each output line is one `ExportLogsServiceRequest` holding up to `batch` records, the shape an
OTLP/HTTP collector accepts at `/v1/logs`. The record's fields become attributes (`safehold.*`),
its payload the body, and its hashes travel along so the chain can still be checked downstream.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from safehold import __version__
from safehold.audit.log import COLUMNS, AuditEntry

_SEVERITY = {"deny": (13, "WARN"), "ask": (10, "INFO2"), "delay": (10, "INFO2")}


def _attr(key: str, value: Any) -> dict[str, Any]:
    if isinstance(value, bool):
        return {"key": key, "value": {"boolValue": value}}
    if isinstance(value, int):
        return {"key": key, "value": {"intValue": str(value)}}
    return {"key": key, "value": {"stringValue": str(value)}}


def log_record(entry: AuditEntry) -> dict[str, Any]:
    nanos = str(int(entry.ts.timestamp()) * 1_000_000_000 + entry.ts.microsecond * 1000)
    number, text = _SEVERITY.get(entry.decision or "", (9, "INFO"))
    attributes = [
        _attr("safehold.seq", entry.seq),
        _attr("safehold.type", entry.type),
        _attr("safehold.hash", entry.hash),
        _attr("safehold.prev_hash", entry.prev_hash),
    ]
    attributes += [
        _attr(f"safehold.{name}", getattr(entry, name))
        for name in COLUMNS
        if getattr(entry, name) is not None
    ]
    return {
        "timeUnixNano": nanos,
        "observedTimeUnixNano": nanos,
        "severityNumber": number,
        "severityText": text,
        "body": {"stringValue": entry.payload},
        "attributes": attributes,
    }


def otlp_lines(entries: Iterable[AuditEntry], batch: int = 500) -> Iterator[str]:
    """One OTLP/JSON logs request per line, `batch` records each."""
    chunk: list[dict[str, Any]] = []
    for entry in entries:
        chunk.append(log_record(entry))
        if len(chunk) >= batch:
            yield _request(chunk)
            chunk = []
    if chunk:
        yield _request(chunk)


def _request(records: list[dict[str, Any]]) -> str:
    return json.dumps(
        {
            "resourceLogs": [
                {
                    "resource": {
                        "attributes": [
                            _attr("service.name", "safehold"),
                            _attr("service.version", __version__),
                        ]
                    },
                    "scopeLogs": [{"scope": {"name": "safehold.audit"}, "logRecords": records}],
                }
            ]
        },
        ensure_ascii=False,
    )
