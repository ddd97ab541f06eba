"""HTTP and MCP latency: analysis alone and the whole in-process decision, over typical calls.

Prints p50/p99 per kind of call; asserts nothing. Target (DESIGN §10): a decision (analysis +
policy) p50 <= 100 µs.

    .venv/bin/python bench/bench_http.py [--passes 300]
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from typing import Any

from safehold.analysis import analyze
from safehold.decide import Guard
from safehold.model import Action

RAILWAY = "https://backboard.railway.app/graphql/v2"


def _gql(query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"query": query}
    if variables:
        body["variables"] = variables
    return {"method": "POST", "url": RAILWAY,
            "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


CALLS: dict[str, Action] = {
    "graphql volumeDelete": Action("http", _gql('mutation { volumeDelete(volumeId: "vol-1") }')),
    "graphql query + vars": Action("http", _gql(
        "query project($id: String!) { project(id: $id) { services { edges { node { id name } }"
        " } volumes { edges { node { id } } } } }", {"id": "p-1"})),
    "graphql mutation (uncatalogued)": Action("http", _gql(
        'mutation { serviceInstanceRedeploy(serviceId: "s", environmentId: "e") }')),
    "rest GET github": Action("http", {"method": "GET",
                                       "url": "https://api.github.com/repos/acme/api/pulls",
                                       "headers": {"Accept": "application/json"}}),
    "rest POST issue": Action("http", {
        "method": "POST", "url": "https://api.github.com/repos/acme/api/issues",
        "headers": {"Content-Type": "application/json"},
        "body": json.dumps({"title": "t", "body": "DROP TABLE is text"})}),
    "rest DELETE digitalocean": Action(
        "http", "DELETE https://api.digitalocean.com/v2/volumes/7724db7c"),
    "aws query DeleteDBInstance": Action("http", (
        "POST https://rds.us-east-1.amazonaws.com/\n"
        "Content-Type: application/x-www-form-urlencoded\n\n"
        "Action=DeleteDBInstance&DBInstanceIdentifier=db&SkipFinalSnapshot=true")),
    "unknown host GET": Action("http", {"method": "GET", "url": "http://localhost:8080/health"}),
    "mcp read_file": Action("mcp", {"server": "filesystem", "tool": "read_file",
                                    "arguments": {"path": "README.md"}}),
    "mcp github create_issue": Action("mcp", {"server": "github", "tool": "create_issue",
                                              "arguments": {"owner": "a", "repo": "b",
                                                            "title": "t", "body": "x"}}),
    "mcp fetch": Action("mcp", {"server": "fetch", "tool": "fetch",
                                "arguments": {"url": "https://example.com/docs"}}),
}


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))]


def measure(fn: Callable[[Action], object], action: Action, passes: int) -> tuple[float, float]:
    for _ in range(20):
        fn(action)
    samples = []
    for _ in range(passes):
        t0 = time.perf_counter_ns()
        fn(action)
        samples.append((time.perf_counter_ns() - t0) / 1000)
    return pct(samples, 50), pct(samples, 99)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--passes", type=int, default=300)
    args = parser.parse_args()
    guard = Guard.load()
    print(f"{'call':34} {'analysis p50':>13} {'p99':>9} {'decision p50':>13} {'p99':>9}  verdict")
    all_decisions: list[float] = []
    for name, action in CALLS.items():
        a50, a99 = measure(analyze, action, args.passes)
        d50, d99 = measure(guard.decide, action, args.passes)
        all_decisions.append(d50)
        verdict = guard.decide(action).verdict.value
        print(f"{name:34} {a50:11.1f}µs {a99:7.1f}µs {d50:11.1f}µs {d99:7.1f}µs  {verdict}")
    print(f"median of decision p50s: {pct(all_decisions, 50):.1f}µs")
    counter = iter(range(10**9))

    def fresh_document(_: Action) -> object:
        n = next(counter)
        return guard.decide(Action("http", _gql(
            f"query q{n}($id: String!) {{ project(id: $id) {{ services {{ edges {{ node {{ id }}"
            f" }} }} }} }}", {"id": "p"})))

    d50, d99 = measure(fresh_document, CALLS["graphql query + vars"], args.passes)
    print(f"graphql query, a new document every call (no parse cache): decision p50 {d50:.1f}µs"
          f" p99 {d99:.1f}µs")


if __name__ == "__main__":
    main()
