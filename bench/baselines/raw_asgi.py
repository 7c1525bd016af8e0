"""Baseline (b): the same endpoint as raw ASGI with msgspec, the Python ceiling.

No framework: match the path by hand, read the body, validate it with a msgspec
Struct (the same rules as launchday's OrderRequest) and send a pre-encoded constant
201. Whatever Python code does more than this costs more. Run by bench/run.py as

    uvicorn raw_asgi:app --app-dir bench/baselines --loop uvloop --http httptools
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Annotated, Any, Literal

import msgspec
from order_constant import ORDER

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

Sku = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]


class Profile(msgspec.Struct, forbid_unknown_fields=True):
    first_car_with_brand: bool | None = None
    new_to_brand: bool | None = None
    phone: Literal["ios", "android", "other"] | None = None
    region: Annotated[str, msgspec.Meta(min_length=1, max_length=32)] | None = None


class OrderRequest(msgspec.Struct, forbid_unknown_fields=True):
    sku: Sku
    profile: Profile | None = None


_decode = msgspec.json.Decoder(OrderRequest).decode
_CREATED = msgspec.json.encode(ORDER)
_HEALTH = b'{"status":"ok"}'
_PREFIX, _SUFFIX = "/api/v1/launches/", "/orders"


def _headers(body: bytes) -> list[tuple[bytes, bytes]]:
    return [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]


async def _respond(send: Send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status, "headers": _headers(body)})
    await send({"type": "http.response.body", "body": body})


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def app(scope: MutableMapping[str, Any], receive: Receive, send: Send) -> None:
    """POST /api/v1/launches/{slug}/orders: validate, then the constant 201."""
    if scope["type"] == "lifespan":
        await _lifespan(receive, send)
        return
    path: str = scope["path"]
    if scope["method"] == "POST" and path.startswith(_PREFIX) and path.endswith(_SUFFIX):
        try:
            _decode(await _read_body(receive))
        except msgspec.ValidationError as error:
            await _respond(send, 422, msgspec.json.encode({"error": str(error)}))
            return
        except msgspec.DecodeError:
            await _respond(send, 400, b'{"error": "invalid JSON"}')
            return
        await _respond(send, 201, _CREATED)
    elif path == "/healthz":
        await _respond(send, 200, _HEALTH)
    else:
        await _respond(send, 404, b'{"error": "not found"}')
