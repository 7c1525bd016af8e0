"""The load driver's HTTP client: keep-alive reuse, whole answers, failures surfaced."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from launchday.sim.http import HttpClient, TransportError

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


async def read_request(reader: asyncio.StreamReader) -> tuple[str, bytes]:
    head = (await reader.readuntil(b"\r\n\r\n")).decode()
    length = 0
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return head.split("\r\n")[0], await reader.readexactly(length)


async def serve(handler: Handler, run: Callable[[str], Awaitable[None]]) -> None:
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        await run(f"http://127.0.0.1:{port}")
        await asyncio.sleep(0.1)  # the handlers see the client's connections close
    finally:
        server.close()
        await server.wait_closed()


def test_requests_share_a_keep_alive_connection_and_read_whole_answers() -> None:
    connections = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                line, body = await read_request(reader)
                answer = f'{{"line": "{line}", "body": {len(body)}}}'.encode()
                writer.write(
                    b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
                    b"retry-after: 3\r\ncontent-length: %d\r\n\r\n%s" % (len(answer), answer)
                )
                await writer.drain()
        except asyncio.IncompleteReadError:
            writer.close()
            await writer.wait_closed()

    async def run(base: str) -> None:
        client = HttpClient(base, connections=1)
        try:
            for n in range(3):
                status, headers, body = await client.request(
                    "POST", f"/orders/{n}", b'{"sku":"X"}', {"Content-Type": "application/json"}
                )
                assert status == 201
                assert headers["retry-after"] == "3"
                assert body == f'{{"line": "POST /orders/{n} HTTP/1.1", "body": 11}}'.encode()
        finally:
            await client.close()

    asyncio.run(serve(handler, run))
    assert connections == 1


def test_a_chunked_answer_is_read_whole() -> None:
    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n"
            b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
        )
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def run(base: str) -> None:
        client = HttpClient(base, connections=2)
        try:
            assert await client.request("GET", "/", None, {}) == (
                200,
                {"transfer-encoding": "chunked"},
                b"hello world",
            )
        finally:
            await client.close()

    asyncio.run(serve(handler, run))


def test_a_connection_closed_before_the_answer_is_a_transport_error_and_not_reused() -> None:
    answered = 0

    async def handler(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        await read_request(reader)
        if answered == 0:
            answered += 1
            writer.close()  # no answer at all
            await writer.wait_closed()
            return
        writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        await writer.drain()
        writer.close()
        await writer.wait_closed()

    async def run(base: str) -> None:
        client = HttpClient(base, connections=1)
        try:
            with pytest.raises(TransportError):
                await client.request("GET", "/", None, {})
            status, _, body = await client.request("GET", "/", None, {})
            assert (status, body) == (200, b"ok")
        finally:
            await client.close()

    asyncio.run(serve(handler, run))


def test_an_unreachable_server_is_a_transport_error() -> None:
    async def run() -> None:
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        server.close()
        await server.wait_closed()
        client = HttpClient(f"http://127.0.0.1:{port}", connections=1)
        with pytest.raises(TransportError):
            await client.request("GET", "/", None, {})

    asyncio.run(run())
