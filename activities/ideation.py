"""Ideation activities (`pod-ideation` queue): write the design brief, screen it."""

from __future__ import annotations

from dataclasses import asdict

from temporalio import activity

from activities.heartbeat import heartbeating
from activities.providers import Providers, record_cost, tenant_names
from core.db import SessionFactory
from domain import errors, niches
from domain.errors import DomainError
from integrations.embeddings import Embedder
from integrations.local.brief_writer import BriefInputError, normalise_keyword, write_brief
from integrations.openai_provider import BriefRejected, OpenAIProvider, Usage
from integrations.safety import Verdict, brief_fields
from models import repositories
from models.payloads import (
    BriefResult,
    DesignBrief,
    GenerateBriefInput,
    ScreenBriefInput,
    ScreenResult,
    Stage,
)
from models.tables import Brief
from workflows.contract import GENERATE_BRIEF, SCREEN_BRIEF

# Attempts at an OpenAI brief before the run fails: at most 2 x BRIEF_ANSWERS chat calls
# (it was 5 x 3 = 15 when a model kept breaking the rules).
BRIEF_ATTEMPTS = 2


def unsafe_content(verdict: Verdict, what: str = "brief") -> DomainError:
    """The non-retryable failure of a refused text, with every reason in `details`."""
    return DomainError(
        errors.UNSAFE_CONTENT,
        f"the {what} was refused by content screening: {verdict.summary()}",
        verdict.details,
    )


def niche_text(brief: DesignBrief) -> str:
    """What a brief's embedding describes: its niche, in the words trend signals use, so
    campaigns can tell whether a signal's niche already has a brief (ADR 0017)."""
    return niches.normalise_keyword(brief.keyword)


class IdeationActivities:
    """Brief writing and content screening; the brief is stored once per workflow."""

    def __init__(self, sessions: SessionFactory, providers: Providers, embedder: Embedder) -> None:
        self._sessions = sessions
        self._providers = providers
        # The trend embedder: a brief's niche is compared with signals and other briefs.
        self._embedder = embedder

    @activity.defn(name=GENERATE_BRIEF.name)
    async def generate_brief(self, data: GenerateBriefInput) -> BriefResult:
        """A brief for the keyword; a retry returns the brief already stored for the run
        (and so never pays a model twice for the same run)."""
        async with self._sessions() as session:
            stored = await repositories.briefs.get_brief_for_workflow(
                session, tenant_id=data.tenant_id, workflow_id=data.workflow_id
            )
        if stored is not None:
            return _result(stored)
        try:
            keyword = normalise_keyword(data.keyword)
        except BriefInputError as exc:
            raise DomainError(errors.INVALID_INPUT, str(exc)) from exc
        # The keyword meets the local lists before any model: a protected name or a slur
        # is refused for free and never sent out.
        # The keyword as sent too: cleaning drops the `$` of "$tar war$".
        verdict = await self._providers.screen.check(
            {"keyword": data.keyword, "plain keyword": keyword},
            await tenant_names(self._sessions, data.tenant_id),
            moderate=False,
        )
        if not verdict.safe:
            raise unsafe_content(verdict, "keyword")
        writer = self._providers.brief_writer
        if writer is None:
            brief = write_brief(keyword)
        else:
            brief = await self._openai_brief(writer, data, keyword)
        embedding = await self._embed_niche(data, brief)
        async with self._sessions() as session:
            stored = await repositories.briefs.save_brief(
                session,
                tenant_id=data.tenant_id,
                workflow_id=data.workflow_id,
                keyword=brief.keyword,
                data=asdict(brief),
                embedding=embedding,
                embedding_model=self._embedder.name,
            )
            await session.commit()
            return _result(stored)

    async def _embed_niche(self, data: GenerateBriefInput, brief: DesignBrief) -> list[float]:
        """The brief's niche as the trend embedder sees it (a paid one leaves a cost line)."""
        batch = None
        try:
            batch = await heartbeating(
                self._embedder.embed([niche_text(brief)]), "waiting for embeddings"
            )
        finally:
            if batch is not None and batch.usage.calls:
                await record_cost(
                    self._sessions,
                    self._providers.prices,
                    tenant_id=data.tenant_id,
                    workflow_id=data.workflow_id,
                    stage=Stage.BRIEF,
                    kind="embedding",
                    usage=batch.usage,
                )
        return batch.vectors[0]

    async def _openai_brief(
        self, writer: OpenAIProvider, data: GenerateBriefInput, keyword: str
    ) -> DesignBrief:
        chat = Usage()
        try:
            written = await heartbeating(
                writer.write_brief(keyword, chat), "waiting for the language model"
            )
        except BriefRejected as exc:
            if exc.refused:
                details: dict[str, object] = {"problems": exc.problems}
                if exc.ip_risk:
                    details["categories"] = ["ip_risk"]
                    details["ip_risk"] = exc.ip_risk
                raise DomainError(errors.UNSAFE_CONTENT, str(exc), details) from exc
            # The model may well do better on the next attempt (the invalid brief is
            # dropped), but not forever: each attempt is up to BRIEF_ANSWERS paid calls.
            attempt = activity.info().attempt
            code = (
                errors.OPENAI_INVALID_BRIEF
                if attempt < BRIEF_ATTEMPTS
                else errors.OPENAI_BRIEF_UNUSABLE
            )
            raise DomainError(
                code, f"{exc} (attempt {attempt} of {BRIEF_ATTEMPTS})", {"problems": exc.problems}
            ) from exc
        finally:
            await record_cost(
                self._sessions,
                self._providers.prices,
                tenant_id=data.tenant_id,
                workflow_id=data.workflow_id,
                stage=Stage.BRIEF,
                kind="chat",
                usage=chat,
            )
        return written.brief

    @activity.defn(name=SCREEN_BRIEF.name)
    async def screen_brief(self, data: ScreenBriefInput) -> ScreenResult:
        """Refuse unsafe or trademarked copy before any image is made (non-retryable)."""
        own = await tenant_names(self._sessions, data.tenant_id)
        verdict = await heartbeating(
            self._providers.screen.check(brief_fields(data.brief), own), "screening the brief"
        )
        if data.workflow_id:
            async with self._sessions() as session:
                await repositories.briefs.set_brief_screening(
                    session,
                    tenant_id=data.tenant_id,
                    workflow_id=data.workflow_id,
                    status="ready" if verdict.safe else "refused",
                    screening=None if verdict.safe else verdict.details,
                )
                await session.commit()
        if not verdict.safe:
            raise unsafe_content(verdict)
        return ScreenResult(
            safe=True,
            checked_terms=verdict.checked_terms,
            moderated=verdict.moderation is not None,
        )


def _result(stored: Brief) -> BriefResult:
    assert stored.data is not None
    return BriefResult(brief_id=str(stored.id), brief=DesignBrief(**stored.data))
