"""Benchmark `warden confusion scan`'s matching: every PyPI name against internal names.

    python -m bench.confusion [--names FILE] [--internal 2000] [--sample 3000] [--seed 0]

Builds bot.names.LikenessIndex over N made-up internal names (company-style: a prefix
and one or two words), then checks every one of the ~886,000 names of
../shared/data/pypi-project-names.txt.gz. Prints the build time, the full scan's CPU and wall-clock time
(target <= 30 CPU seconds) and, in the same run on a random sample, the per-name time of the
baseline the index replaces (`likeness()` against every internal name) and of the index
(target >= 50x), and checks both find the same matches on the sample.
"""

from __future__ import annotations

import argparse
import gzip
import random
import time
from pathlib import Path

from bot.names import LikenessIndex, canonicalize, likeness

NAMES = Path(__file__).resolve().parents[2] / "shared" / "data" / "pypi-project-names.txt.gz"
SCAN_TARGET, RATIO_TARGET = 30.0, 50.0
_WORDS = ("billing", "auth", "ledger", "utils", "client", "events", "search", "payments",
          "schema", "metrics", "config", "gateway", "orders", "users", "cache", "jobs")


def internal_names(count: int, rng: random.Random) -> list[str]:
    prefixes = ("acme", "corp", "internal", "platform", "data", "infra", "ml", "core")
    names: set[str] = set()
    while len(names) < count:
        words = rng.sample(_WORDS, rng.choice((1, 2)))
        names.add("-".join((rng.choice(prefixes), *words, str(rng.randrange(40)))))
    return sorted(names)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--names", type=Path, default=NAMES)
    parser.add_argument("--internal", type=int, default=2000)
    parser.add_argument("--sample", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    with gzip.open(args.names, "rt", encoding="utf-8") as lines:
        public = [line.strip() for line in lines if line.strip()]
    internal = internal_names(args.internal, rng)
    # A few real squats among the public names, so the scan has something to find.
    public += [internal[0], internal[1].replace("-", "_"), "python-" + internal[2]]

    started = time.perf_counter()
    index = LikenessIndex(internal)
    built = time.perf_counter() - started
    started, cpu = time.perf_counter(), time.process_time()
    found = [(name, hit) for name in public for hit in index.matches(name)[:1]]
    scan, scan_cpu = time.perf_counter() - started, time.process_time() - cpu

    sample = rng.sample(public, min(args.sample, len(public)))
    targets = [canonicalize(n) for n in internal]
    started = time.perf_counter()
    brute = {n: sorted((t, k) for t in targets if (k := likeness(n, t)) is not None)
             for n in sample}
    per_brute = (time.perf_counter() - started) / len(sample)
    started = time.perf_counter()
    fast = {n: sorted(index.matches(n)) for n in sample}
    per_fast = (time.perf_counter() - started) / len(sample)
    assert brute == fast, "the index and the baseline disagree on the sample"

    print(f"index of {len(internal):,} internal names built in {built:.2f} s")
    print(f"scan of {len(public):,} public names: {scan_cpu:.1f} CPU s (target <= "
          f"{SCAN_TARGET:g} s; the steadier figure on a shared machine), {scan:.1f} s wall, "
          f"{len(found)} match(es)")
    print(f"per name, same run, {len(sample):,} sampled: baseline likeness() against every "
          f"internal name {per_brute * 1e6:,.0f} us, index {per_fast * 1e6:,.1f} us "
          f"({per_brute / per_fast:,.0f}x; target >= {RATIO_TARGET:g}x); same matches")
    for name, (target, technique) in found[:10]:
        print(f"  {name} -> {target} ({technique})")


if __name__ == "__main__":
    main()
