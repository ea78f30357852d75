"""Webhook delivery adapters: AES-GCM for signing secrets at rest, and the httpx transport that
refuses non-public addresses at every delivery."""

from __future__ import annotations

import os

import httpx
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from numguard import __version__
from numguard.services.notifications import (
    NOT_PUBLIC_MESSAGE,
    SINK_NOT_PUBLIC,
    Resolver,
    TransportError,
    is_public_address,
    resolve_host,
    sink_addresses,
)

_NONCE = 12
_VERSION = b"\x01"


class AesGcmSecretBox:
    """AES-256-GCM with a random 96-bit nonce; the subscription id is the associated data, so a
    sealed secret copied onto another subscription's row does not open.

    Stored form: ``0x01 || nonce || ciphertext+tag``. The key comes from the server secret
    (``Settings.webhook_secret_key``): changing ``NUMGUARD_SECRET_KEY`` makes existing
    subscriptions unusable (they must subscribe again).
    """

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("AES-256 needs a 32-byte key")
        self._aead = AESGCM(key)

    def seal(self, plaintext: bytes, context: bytes) -> bytes:
        """Encrypt and authenticate *plaintext* bound to *context*."""
        nonce = os.urandom(_NONCE)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context)

    def open(self, sealed: bytes, context: bytes) -> bytes:
        """Decrypt; ValueError when altered, foreign or sealed under another key."""
        if len(sealed) < 1 + _NONCE + 16 or sealed[:1] != _VERSION:
            raise ValueError("not a sealed secret")
        try:
            return self._aead.decrypt(sealed[1 : 1 + _NONCE], sealed[1 + _NONCE :], context)
        except InvalidTag as exc:
            raise ValueError("the sealed secret does not open with this key") from exc


class HttpxWebhookTransport:
    """POSTs with httpx: connect/read timeouts, no redirects (a 3xx is a failed attempt), no
    proxy from the environment, one pooled client shared by the worker's threads.

    Unless *allow_private*, each delivery resolves the sink's host, refuses it (a
    :class:`TransportError` starting with ``SINK_NOT_PUBLIC``) when any of its addresses is not
    public, and connects to the address it checked (the URL's host stays in the ``Host``
    header and in TLS SNI and certificate verification), so a DNS answer that changes between
    the check and the connection cannot point the request inside the network.
    """

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        allow_private: bool = False,
        resolve: Resolver = resolve_host,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.allow_private = allow_private
        self._resolve = resolve
        self._client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            transport=transport,
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": f"numguard-webhooks/{__version__}"},
            limits=httpx.Limits(max_connections=32, max_keepalive_connections=16),
        )

    def post(self, url: str, body: bytes, headers: dict[str, str]) -> int:
        """The HTTP status of the answer; :class:`TransportError` when there is none."""
        if self.allow_private:
            return self._send(url, body, headers, {})
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        port = target.port or (443 if target.scheme == "https" else 80)
        try:
            addresses = sink_addresses(host, port, self._resolve)
        except (OSError, UnicodeError) as exc:
            raise TransportError(f"DNS: the sink's host does not resolve ({exc})"[:300]) from exc
        if not addresses or not all(is_public_address(a) for a in addresses):
            raise TransportError(f"{SINK_NOT_PUBLIC}: {NOT_PUBLIC_MESSAGE}")
        pinned = {**headers, "host": target.netloc.decode("ascii")}
        extensions = {"sni_hostname": host} if target.scheme == "https" else {}
        failure: TransportError | None = None
        for address in addresses:  # the checked addresses, in the resolver's order
            try:
                return self._send(target.copy_with(host=address), body, pinned, extensions)
            except TransportError as exc:
                if not isinstance(exc.__cause__, httpx.ConnectError):
                    raise
                failure = exc
        assert failure is not None  # noqa: S101  addresses is not empty
        raise failure

    def _send(
        self,
        url: str | httpx.URL,
        body: bytes,
        headers: dict[str, str],
        extensions: dict[str, str],
    ) -> int:
        try:
            response = self._client.post(
                url, content=body, headers=headers, extensions=extensions or None
            )
        except httpx.HTTPError as exc:
            raise TransportError(f"{type(exc).__name__}: {exc}"[:300]) from exc
        return response.status_code

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()
