"""One chat request to an OpenAI-compatible endpoint: cached by its hash, usage counted, failures named.

Temperature 0 and a fixed seed make answers as repeatable as the server allows; the cache makes a
re-run free and exact. The API key comes from the environment variable the settings name, and is
masked in every message this module produces.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from creative.core.atomic import write_atomic
from creative.core.config import LlmSettings
from creative.core.redact import redact_text, redact_url, secrets_from_env

SEED = 1234
MAX_OUTPUT_TOKENS = 2000  # six concepts take about 600; room for verbose models
MAX_RETRIES = 3  # the openai client backs off between retries of 429, 5xx, timeouts and lost connections
# Response formats, best first: a server that rejects one (HTTP 400) is asked with the next.
# json_schema_loose drops the length and count limits some servers' schema support refuses.
FORMATS = ("json_schema", "json_schema_loose", "json_object", "none")
_LIMIT_KEYWORDS = ("maxLength", "minLength", "minItems", "maxItems")
CACHE_VERSION = 1


class ChatFailure(Exception):
    """The endpoint gave no usable answer: `reason` is one line for the user, secrets masked."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass
class ChatAnswer:
    content: str
    input_tokens: int = 0
    output_tokens: int = 0
    cached: bool = False
    response_format: str = "json_schema"


class ChatClient:
    """Chat completions for the copywriter, through the `openai` package."""

    def __init__(self, llm: LlmSettings, cache_dir: Path | None, env: Mapping[str, str] | None = None):
        from openai import OpenAI

        env = os.environ if env is None else env
        self.llm = llm
        self.cache_dir = cache_dir
        key = env.get(llm.api_key_env, "")
        self._secrets = [key] if key else []
        self.has_key = bool(key)
        # Local servers (Ollama, llama.cpp) need no key, but the client insists on one.
        self._client = OpenAI(base_url=llm.base_url, api_key=key or "no-key", max_retries=MAX_RETRIES,
                              timeout=llm.timeout_s)
        self.response_format = FORMATS[0]

    @property
    def where(self) -> str:
        return f"{self.llm.model} at {redact_url(self.llm.base_url)}"

    def complete(self, messages: list[dict[str, str]], schema: dict[str, Any], schema_name: str) -> ChatAnswer:
        """The answer to `messages`, from the cache or the server, in the best format the server takes."""
        from openai import BadRequestError

        # A re-run is answered from the cache without the server, in whichever format it took.
        for fmt in FORMATS[FORMATS.index(self.response_format):]:
            cached = self._cached(self._request(messages, schema, schema_name, fmt))
            if cached is not None:
                self.response_format = fmt
                return cached
        while True:
            request = self._request(messages, schema, schema_name, self.response_format)
            try:
                answer = self._send(request)
            except BadRequestError as exc:
                later = FORMATS.index(self.response_format) + 1
                if later >= len(FORMATS):
                    raise ChatFailure(self._clean(f"the server refused the request (HTTP 400): {_message(exc)}")) from None
                self.response_format = FORMATS[later]  # e.g. no json_schema support: ask for json_object
                continue
            self._store(request, answer)
            return answer

    def _request(self, messages, schema, schema_name: str, response_format: str) -> dict[str, Any]:
        request: dict[str, Any] = {
            "model": self.llm.model, "messages": messages, "temperature": 0, "seed": SEED,
            "max_tokens": MAX_OUTPUT_TOKENS,
        }
        if response_format in ("json_schema", "json_schema_loose"):
            sent = schema if response_format == "json_schema" else _without_limits(schema)
            request["response_format"] = {"type": "json_schema",
                                          "json_schema": {"name": schema_name, "schema": sent, "strict": True}}
        elif response_format == "json_object":
            request["response_format"] = {"type": "json_object"}
        return request

    def _send(self, request: dict[str, Any]) -> ChatAnswer:
        import openai

        try:
            response = self._client.chat.completions.create(**request)
        except openai.AuthenticationError as exc:
            raise ChatFailure(self._clean(
                f"the server refused the API key (HTTP 401): {_message(exc)}; "
                f"{'check' if self.has_key else 'set'} ${self.llm.api_key_env}")) from None
        except openai.PermissionDeniedError as exc:
            raise ChatFailure(self._clean(f"access denied (HTTP 403): {_message(exc)}")) from None
        except openai.NotFoundError as exc:
            raise ChatFailure(self._clean(
                f"no model {self.llm.model!r} there (HTTP 404): {_message(exc)}; check brief.llm.model")) from None
        except openai.RateLimitError as exc:
            raise ChatFailure(self._clean(
                f"still rate-limited (HTTP 429) after {MAX_RETRIES} retries with back-off: {_message(exc)}")) from None
        except openai.BadRequestError:
            raise
        except openai.APITimeoutError:
            raise ChatFailure(f"no answer within {self.llm.timeout_s:g} s ({MAX_RETRIES + 1} tries); "
                              "raise brief.llm.timeout_s for a slow model") from None
        except openai.APIConnectionError:
            raise ChatFailure(f"cannot reach {redact_url(self.llm.base_url)} ({MAX_RETRIES + 1} tries); "
                              "is the server running? check brief.llm.base_url") from None
        except openai.APIStatusError as exc:
            raise ChatFailure(self._clean(f"the server answered HTTP {exc.status_code}: {_message(exc)}")) from None
        except openai.APIError as exc:  # an answer that is not a chat completion
            raise ChatFailure(self._clean(f"unreadable answer: {_message(exc)}")) from None
        choice = response.choices[0] if response.choices else None
        content = (choice.message.content if choice and choice.message else None) or ""
        usage = response.usage
        return ChatAnswer(
            content=content,
            input_tokens=int(getattr(usage, "prompt_tokens", 0) or 0),
            output_tokens=int(getattr(usage, "completion_tokens", 0) or 0),
            response_format=self.response_format,
        )

    # --- cache --------------------------------------------------------------------

    def _key(self, request: dict[str, Any]) -> str:
        # The endpoint is part of the request: one model name may mean different models on two servers.
        payload = {"v": CACHE_VERSION, "base_url": redact_url(self.llm.base_url), "request": request}
        return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()

    def _cached(self, request: dict[str, Any]) -> ChatAnswer | None:
        if self.cache_dir is None:
            return None
        path = self.cache_dir / f"{self._key(request)}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return ChatAnswer(content=data["content"], input_tokens=data["input_tokens"],
                              output_tokens=data["output_tokens"], cached=True,
                              response_format=data["response_format"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # no entry, or a damaged one: ask the server

    def _store(self, request: dict[str, Any], answer: ChatAnswer) -> None:
        if self.cache_dir is None:
            return
        entry = {"model": self.llm.model, "content": answer.content, "input_tokens": answer.input_tokens,
                 "output_tokens": answer.output_tokens, "response_format": answer.response_format}
        write_atomic(self.cache_dir / f"{self._key(request)}.json", json.dumps(entry, ensure_ascii=False, indent=1))

    def _clean(self, text: str) -> str:
        return redact_text(text, [*self._secrets, *secrets_from_env()])


def _without_limits(node: Any) -> Any:
    """A JSON schema without length and count keywords (the rule checks still hold the copy to them)."""
    if isinstance(node, dict):
        return {k: _without_limits(v) for k, v in node.items() if k not in _LIMIT_KEYWORDS}
    if isinstance(node, list):
        return [_without_limits(v) for v in node]
    return node


def _message(exc: Exception) -> str:
    """The server's own error message when it sent one, else the exception's text; one line, capped."""
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        inner = body.get("error", body)
        text = inner.get("message") if isinstance(inner, dict) else inner
        if text:
            return " ".join(str(text).split())[:300].rstrip(" .")
    return " ".join(str(exc).split())[:300]

