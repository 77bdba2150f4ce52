"""The roles a person holds in a workspace. Here, below the models, because tenancy
(``kit.tenancy``) is decided on them and the membership table stores them."""

from __future__ import annotations

import enum


class Role(enum.StrEnum):
    """Ordered: each role can do everything the ones before it can."""

    viewer = "viewer"
    editor = "editor"
    owner = "owner"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


_RANK = {Role.viewer: 0, Role.editor: 1, Role.owner: 2}
