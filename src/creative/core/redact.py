"""Keep secrets (API keys, auth headers, tokens in URLs) out of every file, log line and message."""

from __future__ import annotations

import logging
import os
import re
from typing import Iterable, Mapping
from urllib.parse import parse_qsl, unquote, urlencode, urlsplit, urlunsplit

MASK = "REDACTED"
# Query parameter names that carry credentials (whole words inside names like access_token, X-Api-Key).
SECRET_NAME = re.compile(
    r"(?i)(?:^|[_.-])(?:api_?key|apikey|key|token|secret|signature|sig|auth|authorization|password|passwd|pwd"
    r"|session|sessionid|credentials?)(?:$|[_.-])"
)
# Environment variables whose values are secrets (not PWD, which is a folder).
SECRET_ENV = re.compile(r"(?i)(?:^|_)(?:api_?key|key|token|secret|password|credentials?)(?:$|_)")
URL = re.compile(r"[a-zA-Z][a-zA-Z0-9+.-]*://[^\s'\"<>()]+")
BEARER = re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]{6,}")


def redact_url(url: str) -> str:
    """The URL without a password in its userinfo and with secret-looking query values masked."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, host = netloc.rsplit("@", 1)
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{MASK}@{host}"
    query = parts.query
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if any(SECRET_NAME.search(name) for name, _ in pairs):
            query = urlencode([(name, MASK if SECRET_NAME.search(name) else value) for name, value in pairs])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def strip_credentials(url: str) -> str:
    """The URL with no user name or password at all, and secret-looking query values masked.

    For every URL that is written anywhere: page URLs, redirects, image URLs joined onto a page
    URL, and what a browser reports.
    """
    clean = redact_url(url)
    try:
        parts = urlsplit(clean)
    except ValueError:
        return clean
    if "@" not in parts.netloc:
        return clean
    return urlunsplit(parts._replace(netloc=parts.netloc.rsplit("@", 1)[1]))


def split_credentials(url: str) -> tuple[str, tuple[str, str] | None]:
    """(the URL without its userinfo, (user, password) or None): for clients that take them apart."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, None
    if "@" not in parts.netloc:
        return url, None
    userinfo, host = parts.netloc.rsplit("@", 1)
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), (unquote(user), unquote(password))


def secrets_from_env(env: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables whose names say they hold credentials."""
    env = os.environ if env is None else env
    return [value for name, value in env.items() if SECRET_ENV.search(name) and len(value) >= 6]


def redact_text(text: str, secrets: Iterable[str] | None = None) -> str:
    """Mask URLs' credentials, auth header values and any known secret value in free text."""
    text = URL.sub(lambda match: redact_url(match.group(0)), text)
    text = BEARER.sub(lambda match: f"{match.group(1)} {MASK}", text)
    for secret in sorted(secrets_from_env() if secrets is None else secrets, key=len, reverse=True):
        text = text.replace(secret, MASK)
    return text


class RedactingFilter(logging.Filter):
    """Logging filter that redacts every record's final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact_text(message)
        if clean != message:
            record.msg, record.args = clean, None
        return True
