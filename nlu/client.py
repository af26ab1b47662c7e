"""HTTP client for the Rasa NLU server (``rasa run --enable-api``).

Runs in the app's environment (only ``requests``). Any failure to get a
usable parse -- connection refused, timeout, HTTP error, bad JSON -- raises
:class:`NLUUnavailable`, so the caller can fall back to its deterministic
rules and menus.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional
from urllib.parse import urlsplit

import requests


class NLUUnavailable(Exception):
    """The NLU server did not give a usable answer."""


def _is_loopback(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "localhost" or host == "::1" or host.startswith("127.")


_FROM_ENV = object()


class RasaClient:
    """Talks to one Rasa server; reuses one ``requests.Session`` (keep-alive).

    ``token`` is the server's ``--auth-token`` (sent as ``?token=``); by default the
    ``NLU_TOKEN`` environment variable, the setting the app and ``nlu.runtime serve`` share.
    """

    def __init__(self, base_url: str, timeout: float = 2.0, token: Any = _FROM_ENV) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.token: Optional[str] = (os.environ.get("NLU_TOKEN") if token is _FROM_ENV
                                     else token) or None
        self.params = {"token": self.token} if self.token else {}
        self.session = requests.Session()
        if _is_loopback(self.base_url):
            # A local Rasa server: ignore http_proxy/https_proxy from the environment.
            self.session.trust_env = False

    def parse(self, text: str) -> dict[str, Any]:
        """Rasa's parse of ``text``: ``{"text", "intent", "entities", "intent_ranking", ...}``.

        Raises NLUUnavailable on connection error, timeout, non-200 answer or
        a body that is not a JSON object with an ``intent``.
        """
        url = f"{self.base_url}/model/parse"
        resp = self._post(url, {"text": text})
        if resp.status_code in (401, 403):
            raise NLUUnavailable(f"NLU server {url} refused the request (HTTP {resp.status_code}):"
                                 f" NLU_TOKEN {'wrong' if self.token else 'not set'}?")
        if resp.status_code != 200:
            raise NLUUnavailable(f"NLU server {url} answered HTTP {resp.status_code}")
        try:
            data = resp.json()
        except ValueError as exc:
            raise NLUUnavailable(f"NLU server {url} sent a body that is not JSON") from exc
        if not isinstance(data, dict) or "intent" not in data:
            raise NLUUnavailable(f"NLU server {url} sent an unexpected answer")
        return data

    def _post(self, url: str, payload: dict[str, Any]) -> requests.Response:
        # A parse is idempotent: retry once on a connection error (a kept-alive
        # connection may have died when the Rasa server restarted; a refused
        # connection fails again at once). Never retry a timeout.
        for attempt in (1, 2):
            try:
                return self.session.post(url, json=payload, params=self.params,
                                         timeout=self.timeout)
            except requests.Timeout as exc:
                raise NLUUnavailable(f"NLU server {url} timed out after {self.timeout} s") from exc
            except requests.ConnectionError as exc:
                if attempt == 2:
                    raise NLUUnavailable(f"NLU server {url} unreachable: {self._hide(exc)}") from exc
            except requests.RequestException as exc:
                raise NLUUnavailable(f"NLU request to {url} failed: {self._hide(exc)}") from exc
        raise AssertionError("unreachable")  # pragma: no cover

    def load_model(self, model: Path, timeout: float = 300.0) -> None:
        """Make the running server serve ``model`` (``PUT /model``) without a restart.

        Rasa answers once the model is loaded (tens of seconds). Raises NLUUnavailable
        when it is refused or fails; the server then keeps the model it had.
        """
        url = f"{self.base_url}/model"
        try:
            resp = self.session.put(url, json={"model_file": str(Path(model).resolve())},
                                    params=self.params, timeout=timeout)
        except requests.RequestException as exc:
            raise NLUUnavailable(f"NLU server {url} did not load the model: {self._hide(exc)}") from exc
        if resp.status_code not in (200, 204):
            raise NLUUnavailable(f"NLU server {url} refused to load {Path(model).name} "
                                 f"(HTTP {resp.status_code}): {resp.text[:200]}")

    def served_model(self) -> str | None:
        """Return the file name of the model the server serves (``GET /status``), or None."""
        try:
            resp = self.session.get(f"{self.base_url}/status", params=self.params, timeout=5)
            if not resp.ok:
                return None
            return Path(resp.json().get("model_file") or "").name or None
        except (requests.RequestException, ValueError, AttributeError):
            return None

    def _hide(self, exc: Exception) -> str:
        """The error's text without the token (requests puts the whole URL in some)."""
        text = str(exc)
        return text.replace(self.token, "***") if self.token else text

    def is_ready(self, timeout: Optional[float] = 1.0) -> bool:
        """True when ``GET /status`` answers 200 with our token. Never raises.

        That proves the server is up, has a model loaded (409 otherwise) and accepts
        NLU_TOKEN (401 otherwise); ``GET /``, which Rasa answers without the token, would not.
        """
        try:
            resp = self.session.get(self.base_url + "/status", params=self.params, timeout=timeout)
            return resp.status_code == 200
        except Exception:
            return False

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> "RasaClient":
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RasaClient({self.base_url!r}, timeout={self.timeout})"  # never the token
