"""Local stand-ins for provider APIs, real HTTP servers on 127.0.0.1 for the gateway to call.

`FakeRailway` serves a Railway-like GraphQL API executed by graphql-core: projects with their
environments, services and volumes, each volume with its own backups; `volumeDelete` removes
the volume *and* its backups, as the real one does. `FakeRest` is a small REST API of
repositories. Both accept only the one token they were created with and record every request
they receive (method, path, headers, body), so a test can prove what reached the provider.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from graphql import build_schema, graphql_sync
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

SDL = """
type Query {
  projects: [Project!]!
  project(id: String!): Project
  volume(id: String!): Volume
}
type Project { id: String! name: String! environments: [Environment!]! services: [Service!]!
               volumes: [Volume!]! }
type Environment { id: String! name: String! }
type Service { id: String! name: String! }
type Volume { id: String! name: String! backups: [VolumeBackup!]! }
type VolumeBackup { id: String! createdAt: String! }
input ServiceCreateInput { projectId: String! name: String! }
type Mutation {
  volumeDelete(volumeId: String!): Boolean!
  serviceCreate(input: ServiceCreateInput!): Service!
  variableDelete(input: VariableDeleteInput!): Boolean!
}
input VariableDeleteInput { projectId: String! environmentId: String! name: String! }
"""


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: str


@dataclass
class RailwayState:
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: list[dict[str, str]] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)

    @classmethod
    def seeded(cls) -> RailwayState:
        return cls(
            volumes={
                "vol-prod-db": {"id": "vol-prod-db", "name": "postgres-data",
                                "backups": [{"id": "bk-1", "createdAt": "2026-11-30"},
                                            {"id": "bk-2", "createdAt": "2026-12-01"}]},
                "vol-cache": {"id": "vol-cache", "name": "cache", "backups": []},
            },
            services=[{"id": "svc-api", "name": "api"}],
            variables={"DATABASE_URL": "postgres://…"},
        )


class _Server:
    """A Starlette app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, app: Starlette):
        self.app = app
        self._sock = socket.socket()
        self._sock.bind(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.run(self._server.serve(sockets=[self._sock]))

    def start(self) -> None:
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("fake provider did not start")
            time.sleep(0.02)

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


class FakeRailway(_Server):
    def __init__(self, token: str, *, record: bool = True):
        self.token = token
        self.record = record
        self.state = RailwayState.seeded()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.schema = build_schema(SDL)
        super().__init__(Starlette(routes=[
            Route("/graphql/v2", self.graphql, methods=["POST", "GET"]),
            Route("/stream/{n:int}", self.stream, methods=["GET"]),
        ]))

    def mutations(self, name: str) -> list[Received]:
        return [r for r in self.received if name in r.body]

    async def graphql(self, request: Request) -> Response:
        body = (await request.body()).decode()
        if self.record:
            with self.lock:
                self.received.append(Received(request.method, request.url.path,
                                              dict(request.headers), body))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"errors": [{"message": "Not Authorized"}]}, status_code=401)
        payload = json.loads(body or "{}")
        with self.lock:
            result = graphql_sync(self.schema, payload.get("query", ""),
                                  root_value=self._root(),
                                  variable_values=payload.get("variables"))
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [{"message": e.message} for e in result.errors]
        return JSONResponse(out)

    async def stream(self, request: Request) -> Response:
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"errors": [{"message": "Not Authorized"}]}, status_code=401)
        n = request.path_params["n"]

        async def chunks() -> Any:
            for i in range(n):
                yield f"chunk {i}\n".encode()
                await asyncio.sleep(0)

        return StreamingResponse(chunks(), media_type="text/plain")

    def _root(self) -> dict[str, Any]:
        st = self.state

        def project(**_: Any) -> dict[str, Any]:
            return {"id": "prj-1", "name": "shop",
                    "environments": [{"id": "env-prod", "name": "production"},
                                     {"id": "env-stg", "name": "staging"}],
                    "services": st.services, "volumes": list(st.volumes.values())}

        def volume_delete(volumeId: str) -> bool:
            if volumeId not in st.volumes:
                raise ValueError(f"volume {volumeId} not found")
            del st.volumes[volumeId]  # the backups live on the volume and go with it
            return True

        def service_create(input: dict[str, str]) -> dict[str, str]:
            svc = {"id": f"svc-{len(st.services) + 1}", "name": input["name"]}
            st.services.append(svc)
            return svc

        def variable_delete(input: dict[str, str]) -> bool:
            return st.variables.pop(input["name"], None) is not None

        return {
            "projects": lambda _info: [project()],
            "project": lambda _info, id: project(),
            "volume": lambda _info, id: st.volumes.get(id),
            "volumeDelete": lambda _info, volumeId: volume_delete(volumeId),
            "serviceCreate": lambda _info, input: service_create(input),
            "variableDelete": lambda _info, input: variable_delete(input),
        }


class FakeRest(_Server):
    """Repositories: GET lists and reads, DELETE removes one."""

    def __init__(self, token: str):
        self.token = token
        self.repos = {"acme/web": {"name": "web"}, "acme/api": {"name": "api"}}
        self.received: list[Received] = []
        super().__init__(Starlette(routes=[
            Route("/repos/{owner}/{repo}", self.repo, methods=["GET", "DELETE", "PATCH"]),
            Route("/user/repos", self.list, methods=["GET"]),
        ]))

    def _auth(self, request: Request, body: str) -> Response | None:
        self.received.append(Received(request.method, request.url.path,
                                      dict(request.headers), body))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return JSONResponse({"message": "Bad credentials"}, status_code=401)
        return None

    async def list(self, request: Request) -> Response:
        return self._auth(request, "") or JSONResponse(sorted(self.repos))

    async def repo(self, request: Request) -> Response:
        body = (await request.body()).decode()
        denied = self._auth(request, body)
        if denied:
            return denied
        key = f"{request.path_params['owner']}/{request.path_params['repo']}"
        if key not in self.repos:
            return JSONResponse({"message": "Not Found"}, status_code=404)
        if request.method == "DELETE":
            del self.repos[key]
            return Response(status_code=204)
        return JSONResponse(self.repos[key])
