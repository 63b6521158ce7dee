"""Encryption at rest for personal identifiers, and their blind index.

ID numbers, phone numbers and bank accounts are stored encrypted with AES-256-GCM; equality look-ups
(find the person with this ID number) go through a blind index, a keyed HMAC-SHA256 of the
normalised value. Both keys are derived (HKDF-SHA256) from one master key, ``DOUDI_FIELD_KEY``, a
url-safe base64 string of 32 random bytes (``doudi manage field_key`` prints a new one). A stolen
database file holds neither the key nor any identifier in clear.

Without the key nothing that reads or writes identifiers runs: :class:`FieldKeyMissing` says so in
Chinese and English, and the web pages show that message instead of a stack trace.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

_PREFIX = "v1:"


class FieldKeyMissing(RuntimeError):
    """The encryption key for personal identifiers is not configured or is malformed."""

    def __init__(self, detail: str = "") -> None:
        super().__init__(
            "未配置或无法识别个人信息加密密钥 DOUDI_FIELD_KEY。请设置环境变量 DOUDI_FIELD_KEY"
            "（运行 `doudi manage field_key` 生成一个新密钥并妥善保管），然后重新启动。"
            " / The encryption key DOUDI_FIELD_KEY for personal identifiers is missing or "
            "malformed: set it (generate one with `doudi manage field_key`) and restart."
            + (f" ({detail})" if detail else "")
        )


def new_master_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii")


def _master_key_text() -> str:
    from django.conf import settings

    return str(getattr(settings, "DOUDI_FIELD_KEY", "") or "")


@lru_cache(maxsize=4)
def _derived(master_text: str) -> tuple[AESGCM, bytes]:
    if not master_text:
        raise FieldKeyMissing()
    try:
        master = base64.urlsafe_b64decode(master_text.encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError) as exc:
        raise FieldKeyMissing("not base64") from exc
    if len(master) != 32:
        raise FieldKeyMissing(f"key is {len(master)} bytes, expected 32")
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=None, info=b"doudi-fields-v1").derive(
        master
    )
    return AESGCM(okm[:32]), okm[32:]


def keys_available() -> bool:
    try:
        _derived(_master_key_text())
    except FieldKeyMissing:
        return False
    return True


def encrypt(plain: str) -> str:
    """Encrypt a short text; the result is ASCII, safe for a CharField."""
    aead, _ = _derived(_master_key_text())
    nonce = secrets.token_bytes(12)
    ct = aead.encrypt(nonce, plain.encode("utf-8"), None)
    return _PREFIX + base64.urlsafe_b64encode(nonce + ct).decode("ascii")


def decrypt(token: str) -> str:
    if not token:
        return ""
    if not token.startswith(_PREFIX):
        raise ValueError("unknown ciphertext version")
    aead, _ = _derived(_master_key_text())
    raw = base64.urlsafe_b64decode(token[len(_PREFIX) :].encode("ascii"))
    return aead.decrypt(raw[:12], raw[12:], None).decode("utf-8")


def blind_index(value: str) -> str:
    """Keyed hash of a normalised identifier: equal inputs give equal indexes, nothing else leaks.

    ``sha256(index_key_hex | "|" | value)``, first 40 hex digits. The same expression runs inside
    DuckDB (``blind_index_sql``), so the data pool links millions of rows without a Python loop.
    """
    return hashlib.sha256((index_key_hex() + "|" + value).encode("utf-8")).hexdigest()[:40]


def index_key_hex() -> str:
    return _derived(_master_key_text())[1].hex()


def blind_index_sql(column: str) -> str:
    """DuckDB expression computing :func:`blind_index` of a text column; the key is inlined as a
    literal, so the SQL must never be logged or stored."""
    return f"left(sha256('{index_key_hex()}|' || {column}), 40)"
