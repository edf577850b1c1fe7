"""Evaluate the typosquat detector against labelled data; prints a per-technique table.

    python -m bench.typosquat_eval [--per-technique 1000] [--sample 10000] [--seed 0]

With the top 15,000 of the bundled download list protected:

1. recall per technique on generated single-technique variants of protected names of
   length >= 5 (target >= 95% for each technique of the issue's list);
2. recall on real reported typosquats, tests/data/typosquat/reported.tsv (target >= 90%);
3. flag rate on random existing names outside the protected set, from the ~886k names
   of ../shared/data/pypi-project-names.txt.gz (target <= 1.5%).

A generated variant that happens to be a protected name itself is skipped (it is a real
project, not a squat). Exit status 0 when every target is met, 1 otherwise.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from pathlib import Path

from detectors.typosquat.index import NAMESPACE_MIN
from detectors.typosquat.names import InvalidName, parse_name
from detectors.typosquat.protected import NamesFile, build_analyzer, configured_protected
from detectors.typosquat.settings import TyposquatSection
from detectors.typosquat.techniques import Technique
from detectors.typosquat.variants import GENERATORS
from detectors.typosquat.verdict import Analyzer

REPO = Path(__file__).resolve().parents[1]
NAMES = REPO.parent / "shared" / "data" / "pypi-project-names.txt.gz"
REPORTED = REPO / "tests" / "data" / "typosquat" / "reported.tsv"
ISSUE_TECHNIQUES = (
    Technique.OMISSION, Technique.REPETITION, Technique.TRANSPOSITION, Technique.ADJACENT_KEY,
    Technique.NEIGHBOUR_INSERTION, Technique.HOMOGLYPH, Technique.BIT_FLIP,
    Technique.SEPARATOR, Technique.WORD_REORDER, Technique.AFFIX, Technique.VERSION_SUFFIX,
    Technique.COMBOSQUAT,
)
RECALL_TARGET, REAL_TARGET, FLAG_TARGET = 0.95, 0.90, 0.015


def generated_recall(
    analyzer: Analyzer, technique: Technique, per: int, rng: random.Random
) -> tuple[int, int, int, list[str]]:
    """(variants, flagged, flagged with the intended target, some misses)."""
    index = analyzer.index
    if technique is Technique.TWO_TYPOS:  # defined for the popular long names only
        targets = [e.name for e in index.entries if e.two_typos]
    elif technique is Technique.VOWEL:  # defined for names of 7 characters or more
        targets = [e.name for e in index.entries if len(e.name) >= 7]
    else:
        targets = [e.name for e in index.entries if len(e.name) >= 5]
    made = flagged = same = 0
    misses: list[str] = []
    for _ in range(per * 20):
        if made >= per:
            break
        target = rng.choice(targets)
        variant = GENERATORS[technique](target, rng)
        if variant is None or variant in index:
            continue
        made += 1
        verdict = analyzer.check(variant)
        if verdict.flagged:
            flagged += 1
            same += verdict.target == target
        elif len(misses) < 6:
            misses.append(f"{variant} ({target})")
    return made, flagged, same, misses


def pair_recall(analyzer: Analyzer, per: int, rng: random.Random) -> tuple[int, int, list[str]]:
    """Two top protected names joined (`matplotlib-requests`), first not a namespace."""
    index = analyzer.index
    popular = [e.name for i, e in enumerate(index.entries) if index.top(i) and len(e.name) >= 4]
    made = flagged = 0
    misses: list[str] = []
    while made < per:
        left, right = rng.sample(popular, 2)
        if index.first_tokens.get(left.split("-")[0], 0) >= NAMESPACE_MIN:
            continue
        name = f"{left}-{right}"
        if name in index:
            continue
        made += 1
        if analyzer.check(name).flagged:
            flagged += 1
        elif len(misses) < 6:
            misses.append(name)
    return made, flagged, misses


def real_recall(analyzer: Analyzer, path: Path) -> tuple[int, int, list[str]]:
    total = flagged = 0
    misses: list[str] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#") or line.startswith("name\t"):
            continue
        name, target, _source = line.split("\t")
        total += 1
        verdict = analyzer.check(name)
        if verdict.flagged:
            flagged += 1
        else:
            misses.append(f"{name} ({target})")
    return total, flagged, misses


def flag_rate(
    analyzer: Analyzer, names_path: Path, sample: int, rng: random.Random
) -> tuple[int, int, Counter[str], list[str]]:
    with NamesFile(names_path) as lines:
        pool = set()
        for line in lines:
            try:
                pool.add(parse_name(line).canonical)
            except InvalidName:
                continue
    outside = sorted(pool - set(analyzer.index.exact))
    chosen = rng.sample(outside, sample)
    flagged = 0
    by_technique: Counter[str] = Counter()
    examples: list[str] = []
    for name in chosen:
        verdict = analyzer.check(name)
        if verdict.flagged:
            flagged += 1
            by_technique[verdict.technique or "?"] += 1
            if len(examples) < 25:
                examples.append(f"{name} -> {verdict.target} ({verdict.technique})")
    return len(chosen), flagged, by_technique, examples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--per-technique", type=int, default=1000)
    parser.add_argument("--sample", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--protected-count", type=int, default=15000)
    parser.add_argument("--top-list", default=None, help="ranked list (default: bundled)")
    parser.add_argument("--names", type=Path, default=NAMES)
    parser.add_argument("--reported", type=Path, default=REPORTED)
    args = parser.parse_args(argv)

    cfg = TyposquatSection(protected_count=args.protected_count, top_list=args.top_list)
    started = time.perf_counter()
    analyzer = build_analyzer(cfg, configured_protected(cfg))
    print(f"protected: {len(analyzer.index)} names, index built in "
          f"{time.perf_counter() - started:.2f} s")
    ok = True
    rng = random.Random(args.seed)

    print(f"\n{'technique':<34}{'variants':>9}{'flagged':>9}{'recall':>8}{'same target':>13}")
    for technique in GENERATORS:
        made, flagged, same, misses = generated_recall(analyzer, technique, args.per_technique, rng)
        recall = flagged / made if made else 0.0
        gated = technique in ISSUE_TECHNIQUES
        ok &= not gated or recall >= RECALL_TARGET
        label = technique.value + ("" if gated else " (extra)")
        print(f"{label:<34}{made:>9}{flagged:>9}{recall:>8.1%}{same / max(flagged, 1):>13.1%}"
              + ("" if not misses else f"   e.g. missed: {', '.join(misses[:3])}"))
    made, flagged, misses = pair_recall(analyzer, args.per_technique, rng)
    print(f"{'combosquat, two top names':<34}{made:>9}{flagged:>9}{flagged / made:>8.1%}"
          + ("" if not misses else f"{'':>13}   e.g. missed: {', '.join(misses[:3])}"))
    ok &= flagged / made >= RECALL_TARGET

    total, flagged, misses = real_recall(analyzer, args.reported)
    real = flagged / total
    ok &= real >= REAL_TARGET
    print(f"\nreal reported typosquats: {flagged}/{total} flagged = {real:.1%} "
          f"(target >= {REAL_TARGET:.0%})")
    print(f"  missed: {', '.join(misses) or 'none'}")

    count, flagged, by_technique, examples = flag_rate(
        analyzer, args.names, args.sample, random.Random(args.seed)
    )
    rate = flagged / count
    ok &= rate <= FLAG_TARGET
    print(f"\nflag rate on {count} random existing names outside the protected set: "
          f"{flagged} = {rate:.2%} (target <= {FLAG_TARGET:.1%})")
    print("  by technique: " + ", ".join(f"{k} {v}" for k, v in by_technique.most_common()))
    print("  e.g. " + "; ".join(examples[:12]))
    print("\nall targets met" if ok else "\nSOME TARGETS MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
