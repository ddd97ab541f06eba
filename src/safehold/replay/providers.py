"""Local stand-ins for provider APIs, real HTTP servers on 127.0.0.1 for the gateway to call.

`FakeRailway` serves a Railway-like GraphQL API executed by graphql-core: projects with their
environments, services and volumes, each volume with its own backups; `volumeDelete` removes
the volume *and* its backups, as the real one does. A volume may own a directory on this
machine (`attach_volume`): its data (a PostgreSQL data directory, say) and its backups live
there, and deleting the volume stops whatever runs on it and removes the directory.
`FakeRest` is a small REST API of repositories. Both accept only the tokens they were created
with and record every request they receive (method, path, headers, body), so a test — or
`safehold replay` — can prove what reached the provider.

They live in the package, not the test suite, because `safehold replay` runs the incident
against them offline.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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
    #: the provider accepted the request's token (and so acted on it)
    authorized: bool = False
    at: float = 0.0


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


def _as_origin(app: Any) -> Any:
    """Serve proxy-style requests too (`POST http://host/path`, what a client sends to an
    `http_proxy`), so programs that address the real API's host reach this fake offline."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope.get("type") == "http" and "://" in path:
            rest = path.split("://", 1)[1]
            scope = {**scope, "path": "/" + rest.partition("/")[2],
                     "raw_path": ("/" + rest.partition("/")[2]).encode()}
        await app(scope, receive, send)

    return wrapped


class _Server:
    """A Starlette app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, app: Any):
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
    def __init__(self, token: str, *, record: bool = True, other_tokens: tuple[str, ...] = ()):
        self.token = token
        #: every token the provider honours; an account token reaches every project
        self.tokens = frozenset((token, *other_tokens))
        self.record = record
        #: volume id -> (directory it owns, what to stop before the directory goes)
        self.volume_dirs: dict[str, tuple[Path, Callable[[], None] | None]] = {}
        self.state = RailwayState.seeded()
        self.received: list[Received] = []
        self.lock = threading.Lock()
        self.schema = build_schema(SDL)
        super().__init__(_as_origin(Starlette(routes=[
            Route("/graphql/v2", self.graphql, methods=["POST", "GET"]),
            Route("/stream/{n:int}", self.stream, methods=["GET"]),
        ])))

    def mutations(self, name: str) -> list[Received]:
        return [r for r in self.received if name in r.body]

    async def graphql(self, request: Request) -> Response:
        body = (await request.body()).decode()
        authorized = self._authorized(request)
        if self.record:
            with self.lock:
                self.received.append(Received(request.method, request.url.path,
                                              dict(request.headers), body, authorized,
                                              time.time()))
        if not authorized:
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

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() == "bearer" and value in self.tokens:
            return True
        return request.headers.get("project-access-token", "") in self.tokens

    def attach_volume(self, volume_id: str, name: str, directory: Path,
                      on_delete: Callable[[], None] | None = None) -> Path:
        """A volume backed by `directory` (created); its backups are files in `backups/` on
        it. `on_delete` runs before the directory is removed (stop the database on it)."""
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "backups").mkdir(exist_ok=True)
        with self.lock:
            self.volume_dirs[volume_id] = (directory, on_delete)
            self.state.volumes[volume_id] = {"id": volume_id, "name": name, "backups": []}
        return directory

    def add_backup(self, volume_id: str, backup_id: str, created_at: str, data: bytes) -> Path:
        """A provider-kept backup: stored on the volume it protects, as Railway keeps them."""
        directory, _ = self.volume_dirs[volume_id]
        path = directory / "backups" / f"{backup_id}.dump"
        path.write_bytes(data)
        with self.lock:
            self.state.volumes[volume_id]["backups"].append(
                {"id": backup_id, "createdAt": created_at})
        return path

    def volume_exists(self, volume_id: str) -> bool:
        with self.lock:
            return volume_id in self.state.volumes

    def accepted(self, name: str) -> list[Received]:
        """Requests naming `name` that the provider authorised, i.e. acted on."""
        return [r for r in self.mutations(name) if r.authorized]

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
            owned = self.volume_dirs.pop(volumeId, None)
            if owned is not None:
                directory, on_delete = owned
                if on_delete is not None:
                    on_delete()
                shutil.rmtree(directory, ignore_errors=True)
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
