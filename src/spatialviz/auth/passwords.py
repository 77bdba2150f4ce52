"""Password hashing (Argon2id through pwdlib) and the weak-password refusal rules.

Hashing is CPU- and memory-heavy by design, so it runs in a worker thread, never on the
event loop.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Literal

import anyio
from pwdlib import PasswordHash
from pwdlib.hashers.argon2 import Argon2Hasher

MAX_PASSWORD_LENGTH = 256  # bounds the hashing work a request can ask for

# Words and patterns at the top of every breached-password list. A password whose core
# (lower-cased, leading/trailing digits and symbols stripped) is one of these is refused,
# so "Password123!" and "qwerty2024" fail along with the bare words.
_COMMON_CORES = frozenset(
    [
        "password",
        "passw0rd",
        "p@ssword",
        "p@ssw0rd",
        "qwerty",
        "qwertyuiop",
        "qwertz",
        "azerty",
        "asdfgh",
        "asdfghjkl",
        "zxcvbnm",
        "letmein",
        "welcome",
        "admin",
        "administrator",
        "iloveyou",
        "monkey",
        "dragon",
        "football",
        "baseball",
        "sunshine",
        "princess",
        "master",
        "shadow",
        "superman",
        "batman",
        "trustno",
        "abc",
        "abcdef",
        "abcdefgh",
        "abcdefghij",
        "changeme",
        "secret",
        "login",
        "default",
        "guest",
        "test",
        "tester",
        "root",
        "toor",
        "spatialviz",
        "hello",
        "hellothere",
        "starwars",
        "whatever",
        "freedom",
        "computer",
        "internet",
        "michael",
        "jennifer",
        "charlie",
        "donald",
        "pokemon",
        "minecraft",
        "cheese",
        "summer",
        "winter",
        "autumn",
        "spring",
    ]
)
_COMMON_EXACT = frozenset(
    [
        "1234567890",
        "0123456789",
        "12345678910",
        "1q2w3e4r5t",
        "1qaz2wsx3edc",
        "q1w2e3r4t5",
        "123qweasd",
        "1234qwer",
        "123456789a",
        "a123456789",
        "zaq12wsx",
        "qazwsxedc",
        "qwe123qwe",
        "0987654321",
        "9876543210",
    ]
)
_EDGE_NOISE = re.compile(r"^[\W\d_]+|[\W\d_]+$")
_SEQUENTIAL_DIGITS = "01234567890123456789"


def password_problem(password: str, *, email: str, min_length: int) -> str | None:
    """Why ``password`` is refused, or None. Messages are shown to the person choosing."""
    if len(password) < min_length:
        return f"must be at least {min_length} characters long"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters long"
    lowered = password.lower()
    core = _EDGE_NOISE.sub("", lowered)
    if lowered in _COMMON_EXACT or core in _COMMON_CORES or (not core and lowered.isdigit()):
        return "is too common; it appears in breached-password lists"
    if lowered in _SEQUENTIAL_DIGITS or lowered in _SEQUENTIAL_DIGITS[::-1]:
        return "is too common; it appears in breached-password lists"
    if len(set(password)) < 5:
        return "uses too few different characters"
    local = email.split("@", 1)[0].lower()
    if len(local) >= 4 and (local in lowered or lowered in email.lower()):
        return "must not contain your email address"
    return None


HashProfile = Literal["standard", "fast-insecure"]


class _Costs:
    """The process-wide Argon2 profile, set once by the app factory from Settings (like the
    log configuration): hashing runs in worker threads that carry no request context."""

    profile: HashProfile = "standard"


def configure_password_hashing(profile: HashProfile) -> None:
    _Costs.profile = profile


@lru_cache(maxsize=2)
def _hasher_for(profile: HashProfile) -> PasswordHash:
    if profile == "fast-insecure":
        return PasswordHash((Argon2Hasher(time_cost=1, memory_cost=1024, parallelism=1),))
    return PasswordHash((Argon2Hasher(),))


def _hasher() -> PasswordHash:
    return _hasher_for(_Costs.profile)


@lru_cache(maxsize=2)
def _dummy_hash_for(profile: HashProfile) -> str:
    return _hasher_for(profile).hash("dummy-password-for-constant-time")


def _dummy_hash() -> str:
    return _dummy_hash_for(_Costs.profile)


async def hash_password(password: str) -> str:
    return await anyio.to_thread.run_sync(_hasher().hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    """Constant work whether or not the account exists: an unknown email still costs one
    Argon2 verification, so timing does not reveal which emails are registered."""
    acceptable = password_hash is not None and len(password) <= MAX_PASSWORD_LENGTH
    if password_hash is None or not acceptable:
        target = await anyio.to_thread.run_sync(_dummy_hash)
    else:
        target = password_hash
    ok = await anyio.to_thread.run_sync(_verify, password[:MAX_PASSWORD_LENGTH], target)
    return ok and acceptable


def _verify(password: str, password_hash: str) -> bool:
    return _hasher().verify(password, password_hash)
