"""Pictures of benchmark results: each benchmark writes a PNG beside its numbers.

matplotlib with the Agg backend (no display needed); imported only by benchmarks, so
the service never loads it. Charts are small and plain so they read on a phone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ROOT = Path(__file__).resolve().parents[1]
PLOTS_DIR = ROOT / "docs" / "benchmarks"


def _pyplot() -> ModuleType:
    """pyplot on the Agg backend, loaded on first use (never at import)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def line_chart(
    name: str,
    title: str,
    x_label: str,
    y_label: str,
    series: Mapping[str, Sequence[tuple[float, float]]],
    *,
    log_y: bool = False,
    folder: Path = PLOTS_DIR,
) -> Path:
    """One line per series of ``(x, y)`` points; returns the PNG's path."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(7, 4), dpi=120)
    for label, points in series.items():
        xs, ys = zip(*points, strict=True) if points else ((), ())
        axes.plot(xs, ys, marker="o", label=label)
    axes.set(title=title, xlabel=x_label, ylabel=y_label)
    if log_y:
        axes.set_yscale("log")
    axes.grid(True, alpha=0.3)
    axes.legend()
    return _save(figure, plt, folder / f"{name}.png")


def bar_chart(
    name: str,
    title: str,
    y_label: str,
    groups: Mapping[str, Mapping[str, float]],
    *,
    folder: Path = PLOTS_DIR,
) -> Path:
    """Grouped bars: ``groups[category][series] = value``; returns the PNG's path."""
    plt = _pyplot()
    categories = list(groups)
    names = list(dict.fromkeys(s for values in groups.values() for s in values))
    figure, axes = plt.subplots(figsize=(max(6, 1.1 * len(categories) + 2), 4), dpi=120)
    width = 0.8 / max(1, len(names))
    for i, series in enumerate(names):
        xs = [c + i * width - 0.4 + width / 2 for c in range(len(categories))]
        axes.bar(xs, [groups[c].get(series, 0.0) for c in categories], width, label=series)
    axes.set_xticks(range(len(categories)), categories, rotation=20, ha="right")
    axes.set(title=title, ylabel=y_label)
    axes.grid(True, axis="y", alpha=0.3)
    if len(names) > 1:
        axes.legend()
    return _save(figure, plt, folder / f"{name}.png")


def _save(figure: Figure, plt: ModuleType, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path
