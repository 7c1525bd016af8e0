"""The people who run a launch, over HTTP: API keys made with a role (shown once),
listed, revoked; the rotation of the token secret; and the audit of every change made
with a key (admin only)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal
from urllib.parse import parse_qs

import msgspec

from launchday.api.context import ApiContext
from launchday.api.query_params import time_param
from launchday.domain.access import MAX_NAME, ApiKey, AuditEntry
from launchday.domain.clock import rfc3339
from launchday.http.bodies import decode
from launchday.http.errors import HttpError
from launchday.http.routing import QueryParam, Request, Response, Route, json_response

_encode = msgspec.json.Encoder().encode
_ADMIN_ERRORS = ("unauthenticated", "forbidden")


class KeyRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """A key to make: its name (unique, for the audit), its role, and optionally the one
    launch it acts on, the store it belongs to (a `store` key must name one) and when
    it stops working."""

    name: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_NAME)]
    role: Literal["admin", "operator", "analyst", "support", "store"]
    launch: str | None = None
    store: str | None = None
    expires_at: datetime | None = None


class KeyOut(msgspec.Struct, frozen=True, omit_defaults=True):
    """A key as listed: never its text, which only its making shows."""

    id: str
    name: str
    role: str
    created_at: str
    launch: str | None = None
    store: str | None = None
    expires_at: str | None = None
    revoked_at: str | None = None
    last_used_at: str | None = None


class KeyMade(msgspec.Struct, frozen=True):
    """A new key, with its text (`key`): shown this once, only its hash is kept. Send
    it as `Authorization: Bearer <key>`."""

    key: str
    details: KeyOut


class KeyList(msgspec.Struct, frozen=True):
    keys: list[KeyOut]


class AuditOut(msgspec.Struct, frozen=True, omit_defaults=True):
    """One change: who (the key's name and role), when, the call and its answer, and
    the request's body (the change asked for)."""

    at: str
    key: str
    role: str
    method: str
    path: str
    status: int
    change: str
    launch: str | None = None


class AuditList(msgspec.Struct, frozen=True):
    entries: list[AuditOut]


class RotationRequest(msgspec.Struct, forbid_unknown_fields=True, frozen=True):
    """How long the secret being replaced still verifies the tokens signed with it
    (customers' HS256 tokens and admission tokens): 0 retires it at once."""

    previous_verifies_for_seconds: Annotated[int, msgspec.Meta(ge=0, le=30 * 24 * 3600)] = 3600


class RotationOut(msgspec.Struct, frozen=True):
    """The rotation made: the secret's new generation signs from `rotated_at` on every
    process (within a second); the one before verifies until `previous_verifies_until`.
    The secret itself is never shown: `launchday token` mints with it."""

    generation: int
    rotated_at: str
    previous_verifies_until: str


def key_out(key: ApiKey) -> KeyOut:
    def when(moment: datetime | None) -> str | None:
        return None if moment is None else rfc3339(moment)

    return KeyOut(
        key.id,
        key.name,
        key.role.value,
        rfc3339(key.created_at),
        key.launch,
        key.store,
        when(key.expires_at),
        when(key.revoked_at),
        when(key.last_used_at),
    )


def audit_out(entry: AuditEntry) -> AuditOut:
    return AuditOut(
        rfc3339(entry.at),
        entry.key,
        entry.role,
        entry.method,
        entry.path,
        entry.status,
        entry.change,
        entry.launch,
    )


def routes(ctx: ApiContext) -> list[Route]:
    access = ctx.services.access

    async def create_key(request: Request) -> Response:
        body = decode(request.body, KeyRequest)
        if body.expires_at is not None and body.expires_at.tzinfo is None:
            raise HttpError("validation", "expires_at needs a time zone, e.g. Z", "expires_at")
        key, text = await access.create(
            body.name, body.role, body.launch, body.store, body.expires_at
        )
        return json_response(201, _encode(KeyMade(text, key_out(key))))

    async def list_keys(request: Request) -> Response:
        return json_response(200, _encode(KeyList([key_out(key) for key in access.all_keys()])))

    async def revoke_key(request: Request) -> Response:
        revoked = await access.revoke(request.params["id"])
        return json_response(200, _encode(key_out(revoked)))

    async def rotate_secret(request: Request) -> Response:
        body = decode(request.body, RotationRequest)
        grace = timedelta(seconds=body.previous_verifies_for_seconds)
        rotation = await ctx.services.token_secrets.rotate(grace)
        out = RotationOut(
            rotation.generation, rfc3339(rotation.rotated_at), rfc3339(rotation.previous_until)
        )
        return json_response(200, _encode(out))

    async def audit(request: Request) -> Response:
        since = time_param(request.query, "since")
        key = parse_qs(request.query).get("key", [None])[-1]
        if key is not None and not 0 < len(key) <= MAX_NAME:
            raise HttpError("validation", f"key is a key's name, 1 to {MAX_NAME} characters", "key")
        entries = access.audit(since, key)
        return json_response(200, _encode(AuditList([audit_out(e) for e in entries])))

    return [
        Route(
            method="POST",
            path="/api/v1/keys",
            handler=create_key,
            name="create_key",
            auth=("admin",),
            summary="Make an API key with a role, maybe bound to one launch or store; its"
            " text is shown this once",
            body=KeyRequest,
            response=KeyMade,
            status=201,
            errors=("invalid_body", "validation", "already_exists", "not_found", *_ADMIN_ERRORS),
        ),
        Route(
            method="GET",
            path="/api/v1/keys",
            handler=list_keys,
            name="list_keys",
            auth=("admin",),
            summary="Every API key (never its text), with its last use",
            response=KeyList,
            errors=_ADMIN_ERRORS,
        ),
        Route(
            method="DELETE",
            path="/api/v1/keys/{id}",
            handler=revoke_key,
            name="revoke_key",
            auth=("admin",),
            summary="Revoke a key: refused at once here, within a second on every process",
            response=KeyOut,
            errors=("not_found", *_ADMIN_ERRORS),
        ),
        Route(
            method="POST",
            path="/api/v1/secrets/rotate",
            handler=rotate_secret,
            name="rotate_token_secret",
            auth=("admin",),
            summary="Rotate the secret of launchday's own tokens: a new one signs, the old"
            " one verifies for a while, then retires (docs/identity.md)",
            body=RotationRequest,
            response=RotationOut,
            errors=("invalid_body", "validation", *_ADMIN_ERRORS),
        ),
        Route(
            method="GET",
            path="/api/v1/audit",
            handler=audit,
            name="audit",
            auth=("admin",),
            summary="Every change made with a key (admin, operator, support, store), oldest"
            " first: who, when, the call and the change",
            response=AuditList,
            query=(
                QueryParam(
                    "since",
                    False,
                    "only changes after this time (RFC 3339)",
                    {"type": "string", "format": "date-time"},
                ),
                QueryParam(
                    "key",
                    False,
                    "only the changes made with this key (its name)",
                    {
                        "type": "string",
                        "maxLength": MAX_NAME,
                    },
                ),
            ),
            errors=("validation", *_ADMIN_ERRORS),
        ),
    ]
