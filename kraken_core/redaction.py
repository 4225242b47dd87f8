"""A last line of defence: secrets are masked in every log record, whoever logs them."""

from __future__ import annotations

import logging
from collections.abc import Iterable

MASK = "***"


class SecretFilter(logging.Filter):
    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = sorted({s for s in secrets if len(s) >= 6}, key=len, reverse=True)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = message
        for secret in self._secrets:
            masked = masked.replace(secret, MASK)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            text = logging.Formatter().formatException(record.exc_info)
            if any(secret in text for secret in self._secrets):
                for secret in self._secrets:
                    text = text.replace(secret, MASK)
                record.exc_info, record.exc_text = None, text
        return True


def install_secret_filter(secrets: Iterable[str]) -> SecretFilter:
    """Mask ``secrets`` in everything the root logger's handlers write."""
    secret_filter = SecretFilter(secrets)
    for handler in logging.getLogger().handlers:
        handler.addFilter(secret_filter)
    return secret_filter


def mask_account(number: str | None) -> str | None:
    """``A-1234ABCD`` → ``A-12****CD``: enough to recognise, not to look up."""
    if number is None or len(number) < 6:
        return number
    return number[:4] + "*" * (len(number) - 6) + number[-2:]
