"""Names people give things (workspaces, scenes, API keys, display names): printable text.

NUL cannot be stored by PostgreSQL at all (an error deep in a flush, not a 422), and other
control characters — line breaks, escapes, bidirectional overrides — forge log lines, break
CSV exports or disguise one name as another (issue 16). Names are also never blank.
"""

from __future__ import annotations

import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field

# Line/paragraph separators and the bidirectional embedding/override/isolate controls are
# not category Cc but do the same harm.
_ALSO_REFUSED = frozenset("\u2028\u2029\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def check_name(value: str) -> str:
    for char in value:
        if unicodedata.category(char) == "Cc" or char in _ALSO_REFUSED:
            raise ValueError(f"must not contain control characters (found U+{ord(char):04X})")
    if not value.strip():
        raise ValueError("must not be blank")
    return value


# The same rule for clients and contract tests (JSON Schema, documentation only: the check
# above gives the clearer message): one printable, non-space character at least.
_PRINTABLE = r"[^\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]"
_VISIBLE = r"[^\s\x00-\x1f\x7f-\x9f\u2028-\u202e\u2066-\u2069]"
NAME_PATTERN = f"^{_PRINTABLE}*{_VISIBLE}{_PRINTABLE}*$"

Name = Annotated[
    str, AfterValidator(check_name), Field(json_schema_extra={"pattern": NAME_PATTERN})
]
"""A ``str`` that is refused (422) when blank or holding control characters."""
