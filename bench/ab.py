"""Side by side with another checkout: the same benchmark, this code (A) and that code (B),
in alternating runs (A B A B ...), so that a machine whose speed drifts treats both alike.

Each run is a subprocess of the benchmark script with ``--raw --root DIR``: it imports
``bot`` from DIR, measures one pass and prints its samples as JSON on its last line. The
figures are nearest-rank percentiles over all the samples of each side (see stats.py).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from stats import percentile

ROOT = Path(__file__).resolve().parent.parent


def code_root() -> Path:
    """The checkout to import ``bot`` from: ``--root DIR`` on the command line, else this one."""
    if "--root" in sys.argv:
        return Path(sys.argv[sys.argv.index("--root") + 1]).resolve()
    return ROOT


def raw(samples: dict[str, list[float]]) -> None:
    print(json.dumps(samples))


def alternate(
    script: Path, args: list[str], baseline: Path, rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    sides: tuple[dict[str, list[float]], dict[str, list[float]]] = ({}, {})
    for number in range(rounds):
        for side, root in zip(sides, (ROOT, baseline), strict=True):
            done = subprocess.run(
                [sys.executable, str(script), *args, "--raw", "--root", str(root)],
                capture_output=True,
                text=True,
                check=False,
            )
            if done.returncode != 0:
                raise SystemExit(f"{script.name} --root {root} failed:\n{done.stderr}")
            for label, values in json.loads(done.stdout.splitlines()[-1]).items():
                side.setdefault(label, []).extend(values)
            print(f"  round {number + 1}: {root}", file=sys.stderr)
    return sides


def side_by_side(current: dict[str, list[float]], baseline: dict[str, list[float]]) -> None:
    print(
        f"{'(ms, nearest rank)':46s} {'this p50':>9s} {'was p50':>8s} {'this p99':>9s} "
        f"{'was p99':>8s} {'this max':>9s} {'was max':>8s}  p50 ratio  p99 ratio"
    )
    for label, samples in current.items():
        old = baseline.get(label)
        if not old:
            continue
        a50, b50 = percentile(samples, 50), percentile(old, 50)
        a99, b99 = percentile(samples, 99), percentile(old, 99)
        print(
            f"{label[:46]:46s} {a50:9.2f} {b50:8.2f} {a99:9.2f} {b99:8.2f} "
            f"{max(samples):9.2f} {max(old):8.2f}  {a50 / b50:9.2f}  {a99 / b99:9.2f}"
        )
