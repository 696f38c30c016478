"""Secret redaction for every log line and every printed config.

Two layers: the literal secret values from the loaded config (whatever their shape), and patterns
for secrets that may arrive from elsewhere (a Telegram bot token inside a URL, a password in a
database URL, `token=...`/`api_key=...` pairs, bearer headers).
"""

from __future__ import annotations

import re
import threading

MASK = "***"

_PATTERNS: tuple[re.Pattern[str], ...] = (
    # Telegram bot tokens: <bot id>:<secret>, also inside /bot<token>/ URLs.
    re.compile(r"(?<!\d)(\d{5,}):[A-Za-z0-9_-]{8,}"),
    # Credentials in URLs: scheme://user:password@host
    re.compile(r"(?<=://)([^/\s:@]+):[^@\s/]+(?=@)"),
    # key=value / key: value pairs whose key names a secret.
    re.compile(r"(?i)\b((?:api[_-]?key|token|secret|password|passwd|auth[_-]?token)[\"']?\s*[=:]\s*[\"']?)[^\s\"',&]+"),
    # Authorization: Bearer xxx
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{6,}"),
)

_lock = threading.Lock()
_literals: set[str] = set()


def register_secrets(values: list[str] | tuple[str, ...]) -> None:
    """Add literal secrets (at least 4 characters, shorter ones would mask ordinary text)."""
    with _lock:
        _literals.update(v for v in values if v and len(v) >= 4)


def redact_text(text: str) -> str:
    with _lock:
        literals = sorted(_literals, key=len, reverse=True)
    for literal in literals:
        if literal in text:
            text = text.replace(literal, MASK)
    text = _PATTERNS[0].sub(lambda m: f"{m.group(1)}:{MASK}", text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)}:{MASK}", text)
    text = _PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}", text)
    text = _PATTERNS[3].sub(lambda m: f"{m.group(1)}{MASK}", text)
    return text
