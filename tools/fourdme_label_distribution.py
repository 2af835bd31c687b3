"""Label distribution of the 4DME simulator's AU draws under a rule table (no rendering).

Draws ``N`` clips' AUs exactly as the 4DME writer does (``catalog.draw_clip_aus``: a combination
and, for a quarter of the clips, a static AU) and prints how often each label comes out, the
per-class (multi-label) shares and the share of clips with a unilateral AU.

Usage:
    python tools/fourdme_label_distribution.py [--rules paper|reconstruction] [--bilateral] [--n 2000]
"""

from __future__ import annotations

import argparse
from collections import Counter

import numpy as np

from mer4d.labels.au_emotion import emotions_from_aus, format_emotions, fourdme_rules
from mer4d.labels.aus import AUToken
from mer4d.synth.catalog import draw_clip_aus


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", default="paper")
    parser.add_argument("--bilateral", action="store_true", help="the writer's unilateral=false")
    parser.add_argument("--n", type=int, default=2000)
    args = parser.parse_args()
    rules = fourdme_rules(args.rules)
    counts: Counter[str] = Counter()
    one_sided = 0
    for i in range(args.n):
        combo, static = draw_clip_aus(np.random.default_rng([0, i]), unilateral=not args.bilateral)
        tokens = [AUToken(c) for c in combo] + ([AUToken(static, static=True)] if static else [])
        one_sided += any(t.side for t in tokens)
        counts[format_emotions(emotions_from_aus(tokens, rules), rules=rules)] += 1
    print(f"| label ({args.rules}{', bilateral' if args.bilateral else ''}) | clips | share |\n|---|---|---|")
    for label, n in counts.most_common():
        print(f"| {label} | {n} | {100 * n / args.n:.1f}% |")
    per_class = Counter({e: 0 for e in rules.order})
    for label, n in counts.items():
        for e in label.split("+"):
            per_class[e] += n
    print("per class (multi-label): " + ", ".join(f"{e} {100 * n / args.n:.1f}%" for e, n in per_class.most_common()))
    print(f"clips with a unilateral AU: {100 * one_sided / args.n:.1f}%")


if __name__ == "__main__":
    main()
