"""Changes of security posture in PostgreSQL statements, named by the `privilege` family.

A statement can be an ordinary `ALTER`/`GRANT`/`CREATE` to the SQL catalog and still hand out
power: a login secret for a role, rights that skip row-level security or create roles, a
predefined `pg_*` role that reads server files or runs programs, privileges for every role
(`PUBLIC`) or every privilege at once, row-level security switched off, a function that runs
with its owner's rights. Each of those is reported as its own operation (ids in `sql.yaml`,
family `privilege`), beside what the statement otherwise is, so a policy can name the posture
change whatever statement carries it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from safehold.analysis.sql.pg_nodes import role_name
from safehold.model import Target

Node = dict[str, Any]

#: Role attributes that let a role skip row-level security, make roles, or stream every row.
_ELEVATING = ("bypassrls", "createrole", "isreplication")
_RLS_OFF = ("AT_DisableRowSecurity", "AT_NoForceRowSecurity")


def _truthy(arg: Any) -> bool:
    if not isinstance(arg, dict):
        return arg is None  # `SUPERUSER` written alone carries no argument
    if "Boolean" in arg:
        return bool(arg["Boolean"].get("boolval", False))
    if "Integer" in arg:
        return bool(arg["Integer"].get("ival", 0))
    return True


def _options(items: Any) -> Iterator[tuple[str, Any]]:
    for item in items or ():
        d = item.get("DefElem") if isinstance(item, dict) else None
        if d:
            yield str(d.get("defname", "")).lower(), d.get("arg")


def privilege_changes(kind: str, body: Node, table: Target | None
                      ) -> list[tuple[str, list[Target]]]:
    """(operation id, targets) for every change of security posture in one statement."""
    out: list[tuple[str, list[Target]]] = []
    if kind in ("CreateRoleStmt", "AlterRoleStmt"):
        role = body.get("role")
        name = role if isinstance(role, str) else role_name({"RoleSpec": role or {}})
        target = [Target("role", name)]
        for option, arg in _options(body.get("options")):
            if option == "password" and arg is not None:
                out.append(("privilege:sql-role-password", target))
            elif option in _ELEVATING and _truthy(arg):
                out.append(("privilege:sql-role-elevate", target))
    elif kind == "AlterDefaultPrivilegesStmt":
        out += privilege_changes("GrantStmt", body.get("action") or {}, table)
    elif kind == "GrantStmt" and body.get("is_grant"):
        grantees = body.get("grantees") or ()
        roles = [Target("role", role_name(g)) for g in grantees]
        if any(g.get("RoleSpec", {}).get("roletype") == "ROLESPEC_PUBLIC" for g in grantees):
            out.append(("privilege:sql-grant-public", roles))
        if not body.get("privileges"):  # GRANT ALL [PRIVILEGES]
            out.append(("privilege:sql-grant-all", roles))
    elif kind == "GrantRoleStmt" and body.get("is_grant"):
        granted = [str(r.get("AccessPriv", {}).get("priv_name", ""))
                   for r in body.get("granted_roles") or ()]
        predefined = [Target("role", r) for r in granted if r.startswith("pg_")]
        if predefined:
            out.append(("privilege:sql-role-elevate", predefined))
    elif kind == "AlterTableStmt":
        if any(c.get("AlterTableCmd", {}).get("subtype") in _RLS_OFF
               for c in body.get("cmds") or ()):
            out.append(("privilege:sql-disable-rls", [table] if table else []))
    elif kind in ("CreateFunctionStmt", "AlterFunctionStmt"):
        items = body.get("options") if kind == "CreateFunctionStmt" else body.get("actions")
        if any(option == "security" and _truthy(arg) for option, arg in _options(items)):
            out.append(("privilege:sql-security-definer", []))
    return out
