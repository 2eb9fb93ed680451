"""The one error of the repositories: a record this tenant does not have."""

from __future__ import annotations

from domain import errors
from domain.errors import DomainError


class NotFoundError(DomainError):
    """A record does not exist for this tenant (another tenant's record counts as absent)."""

    def __init__(self, entity: str, key: object) -> None:
        super().__init__(errors.NOT_FOUND, f"{entity} {key} not found")
        self.entity = entity
        self.key = key
