"""Ideation activities (`pod-ideation` queue): write the design brief, screen it."""

from __future__ import annotations

from dataclasses import asdict

from temporalio import activity
from temporalio.exceptions import ApplicationError

from core.db import SessionFactory
from integrations.local.brief_writer import BriefInputError, write_brief
from integrations.safety import screen_brief
from models import repositories
from models.payloads import (
    BriefResult,
    DesignBrief,
    GenerateBriefInput,
    ScreenBriefInput,
    ScreenResult,
)


class IdeationActivities:
    """Brief writing and content screening; the brief is stored once per workflow."""

    def __init__(self, sessions: SessionFactory, blocked_terms: list[str]) -> None:
        self._sessions = sessions
        self._blocked_terms = blocked_terms

    @activity.defn(name="ideation.generate_brief")
    async def generate_brief(self, data: GenerateBriefInput) -> BriefResult:
        """A brief for the keyword; a retry returns the brief already stored for the run."""
        try:
            brief = write_brief(data.keyword)
        except BriefInputError as exc:
            raise ApplicationError(str(exc), type="INVALID_INPUT", non_retryable=True) from exc
        async with self._sessions() as session:
            stored = await repositories.save_brief(
                session,
                tenant_id=data.tenant_id,
                workflow_id=data.workflow_id,
                keyword=brief.keyword,
                data=asdict(brief),
            )
            await session.commit()
            assert stored.data is not None
            return BriefResult(brief_id=str(stored.id), brief=DesignBrief(**stored.data))

    @activity.defn(name="ideation.screen_brief")
    async def screen_brief(self, data: ScreenBriefInput) -> ScreenResult:
        """Refuse unsafe or trademarked copy before any image is made (non-retryable)."""
        result = screen_brief(data.brief, self._blocked_terms)
        if not result.safe:
            terms = ", ".join(sorted(result.matches))
            raise ApplicationError(
                f"the brief uses blocked terms: {terms}",
                {"matches": result.matches},
                type="UNSAFE_CONTENT",
                non_retryable=True,
            )
        return ScreenResult(safe=True, checked_terms=result.checked_terms)
