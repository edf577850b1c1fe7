"""Scoring: from raw matches to one verdict per name.

The finder (finder.py) says which protected names a candidate imitates and how; the
policy (policy.py) which of those matches count. A counted match is dropped when a word
of the candidate is a common word of its own (hosts.py), when the candidate is itself an
established project (its own rank is not `established_rank_ratio` times further down
than the target's), or when the pair is allowlisted. Its score is the technique's
strength, nudged by the target's popularity; the verdict is the best-scoring match,
flagged at `threshold` or above. A name holding invisible characters is flagged in any
case: as a look-alike of what it resembles without them, or alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

from bot.names import canonicalize
from bot.plaintext import reveal
from detectors.typosquat.finder import Match, find
from detectors.typosquat.index import ProtectedIndex
from detectors.typosquat.names import (
    Folded,
    Name,
    describe_hidden,
    hidden_in,
    name_parts,
)
from detectors.typosquat.policy import Policy, top
from detectors.typosquat.settings import TyposquatSection
from detectors.typosquat.techniques import Technique

T = Technique
BASE_SCORE: dict[Technique, float] = {
    T.HOMOGLYPH: 0.95, T.TRANSPOSITION: 0.9, T.REPETITION: 0.9, T.SEPARATOR: 0.9,
    T.OMISSION: 0.85, T.ADJACENT_KEY: 0.85, T.NEIGHBOUR_INSERTION: 0.85, T.WORD_REORDER: 0.85,
    T.VOWEL: 0.8, T.AFFIX: 0.8, T.BIT_FLIP: 0.75, T.VERSION_SUFFIX: 0.75,
    T.COMBOSQUAT: 0.7, T.TWO_TYPOS: 0.7, T.SUBSTITUTION: 0.7, T.INSERTION: 0.7,
    T.MOVED: 0.85, T.PLURAL: 0.8, T.PARTS_SWAPPED: 0.8,
    T.INVISIBLE: 1.0,
}
# No project name can hold an invisible character: such a name scores at least this,
# with any technique, and this when it resembles no protected name at all.
INVISIBLE_SCORE = 0.95
# "Almost surely a squat" (the high tier, Slack's `high`) needs a target this popular:
# below it a score stays under the default high_threshold, 0.85 ("worth a glance").
ALMOST_SURE_TOP = 1000
WORTH_A_GLANCE_MAX = 0.84
# A common word one slip from one of the top 100 is a squat all the same (`request`).
COMMON_WORD_TOP = 100
def popularity_bonus(rank: int | None) -> float:
    """Popular names are what squatters aim at; obscure ones collide by chance."""
    if rank is None:
        return 0.0
    if rank <= 100:
        return 0.05
    if rank <= 1000:
        return 0.02
    return 0.0 if rank <= 5000 else -0.03


class Verdict(NamedTuple):
    """What the detector says about one name.

    A named tuple rather than a frozen dataclass: one is built for every name of a
    scan, and a tuple is built 7 times faster (0.8 us against 5.4 us, measured)."""

    name: str  # as given
    canonical: str
    flagged: bool
    target: str | None = None
    technique: str | None = None
    score: float = 0.0
    explanation: str | None = None  # one line: "`reqeusts` is `requests` with `ue` transposed"
    target_rank: int | None = None
    note: str | None = None  # why a name is not flagged, when it resembles something

    def as_json(self) -> dict[str, object]:
        return {"name": self.name, "target": self.target, "technique": self.technique,
                "score": self.score}


# What the store knows of the uploader moves the score (not the flag): an account with no
# other project is the shape of most reported squats (a fresh account per campaign), one
# maintaining a project known for ESTABLISHED_DAYS is mostly publishing its own work.
NEW_UPLOADER_BONUS = 0.05
ESTABLISHED_UPLOADER_PENALTY = 0.15
ESTABLISHED_DAYS = 30


def score_in_context(verdict: Verdict, *, other_projects: int, established: int) -> float:
    """The verdict's score moved by what is known of the uploader: `other_projects` it
    owns, `established` of them known for ESTABLISHED_DAYS or more. The "almost sure"
    tier still needs a top-ALMOST_SURE_TOP target."""
    score = verdict.score
    if verdict.technique and T.INVISIBLE.value in verdict.technique.split("+"):
        return score  # never legitimate, whoever uploads it
    if established:
        score -= ESTABLISHED_UPLOADER_PENALTY
    elif not other_projects:
        score += NEW_UPLOADER_BONUS
    return round(bounded(score, verdict.target_rank), 2)


def bounded(score: float, rank: int | None) -> float:
    """`score` within 0..1, and below the "almost sure" tier but for a top target."""
    cap = 1.0 if top(rank, ALMOST_SURE_TOP) else WORTH_A_GLANCE_MAX
    return min(cap, max(0.0, score))


def parse_allowlist(items: Iterable[str]) -> set[tuple[str, str]]:
    """"candidate:target" strings as canonical pairs ("*" for any target)."""
    pairs = set()
    for item in items:
        candidate, _, target = item.partition(":")
        target = target.strip()
        pairs.add((canonicalize(candidate.strip()), "*" if target == "*" else canonicalize(target)))
    return pairs


class Analyzer:
    """Checks names against one ProtectedIndex under one policy; pure compute."""

    def __init__(
        self, index: ProtectedIndex, *, threshold: float = 0.6, min_target_length: int = 5,
        short_name_top: int = 5000, any_slip_top: int = 200, shape_top: int = 1000,
        established_rank_ratio: float = 100.0, allowlist: Iterable[str] = (),
    ) -> None:
        self.index = index
        self.threshold = threshold
        self.policy = Policy(index, min_target_length=min_target_length,
                             short_name_top=short_name_top, any_slip_top=any_slip_top,
                             shape_top=shape_top)
        self.established_rank_ratio = established_rank_ratio
        self.allowlist = parse_allowlist(allowlist)
        # Words many projects use (hosts.py): a candidate word among them is no slip.
        self.common_words: frozenset[str] = frozenset()

    @classmethod
    def from_settings(cls, cfg: TyposquatSection, index: ProtectedIndex) -> Analyzer:
        return cls(
            index, threshold=cfg.threshold, min_target_length=cfg.min_target_length,
            short_name_top=cfg.short_name_top, any_slip_top=cfg.any_slip_top,
            shape_top=cfg.shape_top,
            established_rank_ratio=cfg.established_rank_ratio,
            allowlist=cfg.allowlist,
        )

    def allowed(self, candidate: str, target: str) -> bool:
        return (candidate, target) in self.allowlist or (candidate, "*") in self.allowlist

    def score(self, match: Match) -> float:
        base = min(BASE_SCORE[t] for t in match.techniques)
        if len(match.techniques) > 1:
            base -= 0.05
        rank = self.index.entries[match.target].rank
        score = bounded(base + popularity_bonus(rank), rank)
        if T.INVISIBLE in match.techniques:
            score = max(score, INVISIBLE_SCORE)
        return round(score, 2)

    def check(self, raw: str) -> Verdict:
        """The verdict for one name as given; raises InvalidName for a non-name."""
        raw, shown, canonical, folded = name_parts(raw)
        return self._check(raw, shown, canonical, folded)

    def check_name(self, name: Name) -> Verdict:
        return self._check(name.raw, name.ascii, name.canonical, name.folded)

    def _check(self, raw: str, shown: str, canonical: str, folded: Folded) -> Verdict:
        """The verdict for a name parsed into its forms (see `Name`): no Name object
        is built when checking many names."""
        index = self.index
        own = index.get(canonical)
        hidden: tuple[str, ...] = ()
        if folded:
            hidden = hidden_in(folded)
            matches = self._unicode(canonical, folded, own is not None)
            own = None  # a Unicode look-alike of a protected name is not that name
        else:
            matches = find(index, canonical, shown)
            if not matches and own is None:
                return Verdict(raw, canonical, False)  # the common case: resembles nothing
        note = None
        best: tuple[float, int, Match] | None = None
        common = [w for w in canonical.split("-") if w in self.common_words]
        for match in matches:
            entry = index.entries[match.target]
            if (why := self.policy.refusal(match)) is not None:
                if own is None:  # a protected name says so below
                    note = note or f"resembles `{entry.name}` ({match.technique}), but {why}"
                continue
            if (match.edits and (entry.rank is None or entry.rank > COMMON_WORD_TOP)
                    and any(w not in entry.name.split("-") for w in common)):
                note = note or f"`{common[0]}` is a word many projects use, not a slip"
                continue
            if own is not None and not self._far_less_established(own.rank, entry.rank):
                note = note or f"`{canonical}` is itself protected (rank {own.rank})"
                continue
            if not hidden and self.allowed(canonical, entry.name):  # never legitimate: hidden
                note = f"allowlisted as a known legitimate pair with `{entry.name}`"
                continue
            key = (self.score(match), -(entry.rank or 10**9), match)
            if best is None or key[:2] > best[:2]:
                best = key
        if best is None and hidden:
            return Verdict(raw, canonical, True, None, T.INVISIBLE.value, INVISIBLE_SCORE,
                           f"`{reveal(raw)}` holds invisible characters, which no project "
                           f"name can: {describe_hidden(hidden)}")
        if best is None:
            if own is not None and note is None:
                note = f"`{canonical}` is itself protected" + (
                    f" (rank {own.rank})" if own.rank is not None else ""
                )
            return Verdict(raw, canonical, False, note=note)
        score, _, match = best
        entry = index.entries[match.target]
        flagged = score >= self.threshold or bool(hidden)
        return Verdict(
            raw, canonical, flagged, entry.name, match.technique, score,
            f"`{reveal(raw)}` {match.phrase}", entry.rank,
            None if flagged else f"score {score} is below the threshold {self.threshold}",
        )

    def _far_less_established(self, own_rank: int | None, target_rank: int | None) -> bool:
        if own_rank is None or target_rank is None:
            return False
        return own_rank >= target_rank * self.established_rank_ratio

    def _unicode(self, canonical: str, folded: Folded, exact: bool) -> list[Match]:
        """Matches of a name that held non-ASCII characters: look-alikes (homoglyph) and
        invisible ones (invisible-characters; first when the rest is the protected name
        itself, so that match always counts, last otherwise)."""
        looks = [(char, ascii_char) for char, ascii_char in folded if ascii_char]
        hidden = hidden_in(folded)
        extra: tuple[Technique, ...] = (
            ((T.INVISIBLE,) if hidden else ()) + ((T.HOMOGLYPH,) if looks else ()))
        parts = []
        if hidden:
            parts.append(f"invisible characters: {describe_hidden(hidden)}")
        if looks:
            parts.append("Unicode look-alikes: " + ", ".join(
                f"`{ascii_char}` by `{char}` (U+{ord(char):04X})" for char, ascii_char in looks))
        shown = "; ".join(parts)
        if exact:
            target = self.index.exact[canonical]
            return [Match(target, extra, f"is `{canonical}` with {shown}")]
        added = tuple(t for t in (T.HOMOGLYPH, T.INVISIBLE) if t in extra)
        return [
            Match(m.target, (*m.techniques, *(t for t in added if t not in m.techniques)),
                  f"{m.phrase}, and {shown}", m.edits)
            for m in find(self.index, canonical)
        ]
