"""A Kafka-protocol TCP proxy on 127.0.0.1 that can lose one Produce response, for the idempotence test.

It forwards whole frames (int32 length + body) both ways. With `drop_produce_responses=n` it lets
the broker store the first n Produce requests, then closes the client's connection instead of
relaying the broker's answer: to the client the request looks lost, so it retries the same batch.
"""

from __future__ import annotations

import asyncio
import struct
import threading

PRODUCE = 0


async def _read_frame(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readexactly(4)
    (size,) = struct.unpack(">i", head)
    return head + await reader.readexactly(size)


class FlakyProxy:
    def __init__(self, broker_port: int, port: int, drop_produce_responses: int = 0) -> None:
        self.broker_port = broker_port
        self.port = port
        self.drop_left = drop_produce_responses
        self.dropped = 0
        self.produce_requests = 0
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)

    def start(self) -> FlakyProxy:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(5)
        return self

    async def _start(self) -> None:
        self._server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    def stop(self) -> None:
        async def close() -> None:
            if self._server is not None:
                self._server.close()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    async def _client(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        breader, bwriter = await asyncio.open_connection("127.0.0.1", self.broker_port)
        try:
            while True:
                request = await _read_frame(creader)
                (api_key,) = struct.unpack(">h", request[4:6])
                bwriter.write(request)
                await bwriter.drain()
                response = await _read_frame(breader)
                if api_key == PRODUCE:
                    self.produce_requests += 1
                    if self.drop_left > 0:
                        self.drop_left -= 1
                        self.dropped += 1
                        return  # the broker stored it; the client never hears so
                cwriter.write(response)
                await cwriter.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            return
        finally:
            cwriter.close()
            bwriter.close()
