"""The idempotency record of vendor ids, one per (workflow, step)."""

from __future__ import annotations

from collections.abc import Collection

from core.db import SessionFactory
from domain import errors
from domain.errors import DomainError
from models import repositories
from models.repositories.refs import ExternalRefTaken


class ExternalRefs:
    """Reads and writes `external_refs` in short transactions of their own."""

    def __init__(self, sessions: SessionFactory) -> None:
        self._sessions = sessions

    async def get(self, tenant_id: str, workflow_id: str, kind: str) -> str | None:
        async with self._sessions() as session:
            return await repositories.refs.get_external_ref(
                session, tenant_id=tenant_id, workflow_id=workflow_id, kind=kind
            )

    async def put(self, tenant_id: str, workflow_id: str, kind: str, external_id: str) -> str:
        """Record the id; when a racing attempt recorded one first, that one is returned.

        An id another workflow already holds means the step found something that is not
        its own; no retry changes that, so it stops the run (`EXTERNAL_REF_TAKEN`).
        """
        try:
            return await self.claim(tenant_id, workflow_id, kind, external_id)
        except ExternalRefTaken as exc:
            details = {"kind": kind, "external_id": external_id}
            raise DomainError(errors.EXTERNAL_REF_TAKEN, str(exc), details) from exc

    async def claim(self, tenant_id: str, workflow_id: str, kind: str, external_id: str) -> str:
        """`put` for a step that can lose a race for the id: raises `ExternalRefTaken`."""
        async with self._sessions() as session:
            stored = await repositories.refs.put_external_ref(
                session,
                tenant_id=tenant_id,
                workflow_id=workflow_id,
                kind=kind,
                external_id=external_id,
            )
            await session.commit()
            return stored

    async def owners(self, kind: str, external_ids: Collection[str]) -> dict[str, str]:
        """`{external_id: workflow_id}` of those ids some workflow (of any tenant) recorded."""
        async with self._sessions() as session:
            return await repositories.refs.external_ref_owners(
                session, kind=kind, external_ids=external_ids
            )
