"""ASGI middleware at the edge: request bodies bounded before anything parses them, security headers on
every response (API and pages)."""

import json

from starlette.types import ASGIApp, Message, Receive, Scope, Send

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


class SecurityHeaders:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []),
                                      *[(name, value) for name, value in SECURITY_HEADERS if name not in present]]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimit:
    """A /api request body over `max_bytes` is a 413 before it is parsed: by its Content-Length at once, or, sent
    chunked, as soon as the bytes read pass the limit. The body (small by then) is replayed to the route.

    Not FastAPI's own `max_body_size` (0.165): for a declared oversize body Starlette's limiter answers a plain-text
    "Content Too Large" itself, past the exception handlers, and the API answers every error in JSON."""

    def __init__(self, app: ASGIApp, max_bytes: int, prefix: str = "/api"):
        self.app, self.max_bytes, self.prefix = app, max_bytes, prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._too_large(send, int(declared))
            return
        if scope["method"] in ("GET", "HEAD", "OPTIONS") and declared in (None, b"0"):
            await self.app(scope, receive, send)  # no body: nothing to read ahead (and event streams stay live)
            return
        body, more = bytearray(), True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.max_bytes:
                await self._too_large(send, None)
                return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Send, size: int | None) -> None:
        said = f"The request body ({size} bytes)" if size is not None else "The request body"
        payload = json.dumps({"detail": f"{said} is over the limit of {self.max_bytes} bytes "
                              "(PHASELAB_MAX_BODY_BYTES)."}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(payload)).encode()),
                                (b"connection", b"close")]})
        await send({"type": "http.response.body", "body": payload})
