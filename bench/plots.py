"""Pictures of benchmark results: each benchmark writes a PNG beside its numbers.

matplotlib with the Agg backend (no display needed); imported only by benchmarks, so
the service never loads it. Charts are small and plain so they read on a phone.
"""

from __future__ import annotations

import itertools
import math
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
    target: tuple[float, str] | None = None,
    folder: Path = PLOTS_DIR,
) -> Path:
    """Grouped bars: ``groups[category][series] = value``, with ``target`` (value, label)
    as a dashed line; returns the PNG's path."""
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
    if target is not None:
        axes.axhline(target[0], color="black", linestyle="--", linewidth=1, label=target[1])
    if len(names) > 1 or target is not None:
        axes.legend()
    return _save(figure, plt, folder / f"{name}.png")


def _save(figure: Figure, plt: ModuleType, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.tight_layout()
    figure.savefig(path)
    plt.close(figure)
    return path


OUTCOME_COLOURS = {
    "confident-right": "#009E73",
    "asked": "#E69F00",
    "wrong": "#D55E00",
    "not found": "#BBBBBB",
}
"""Colours of matching outcomes (Okabe-Ito: told apart with colour-blind eyes too)."""
BASELINE_COLOUR = "#8C8C8C"
SERIES_COLOURS = ("#0072B2", "#56B4E9", "#009E73", "#CC79A7", "#E69F00", "#D55E00")
"""Colours after the baseline's grey, in series order."""
_STYLE = {"font.size": 12, "axes.titlesize": 12, "figure.titlesize": 13, "figure.labelsize": 12,
          "legend.fontsize": 11}  # fmt: skip
"""Type big enough to read when the picture is shrunk to a phone's width."""
_WIDTH = 6.0
"""Inches (720 pixels): shrunk to a phone's width, the type stays about 9 points."""


def hbar_chart(
    name: str,
    title: str,
    x_label: str,
    groups: Mapping[str, Mapping[str, float]],
    *,
    baseline: str | None = None,
    log_x: bool = False,
    x_max: float | None = None,
    value_format: str = "{:.0f}",
    legend: bool = True,
    folder: Path = PLOTS_DIR,
) -> Path:
    """Grouped horizontal bars, each labelled with its value: ``groups[category][series]``.

    Categories read top to bottom, their labels horizontal (long labels fit on a narrow
    screen); a category's bars are centred on its label, so a series missing from it
    leaves no gap. ``x_max`` is the value axis' last tick (100 for shares; its labels get
    room beyond it). ``baseline`` names the series drawn in grey; ``legend=False`` leaves
    out the legend (when each category has one series named after it, say). Returns the
    PNG's path.
    """
    plt = _pyplot()
    categories = list(groups)
    names = list(dict.fromkeys(s for values in groups.values() for s in values))
    colours = itertools.cycle(SERIES_COLOURS)
    colour = {s: BASELINE_COLOUR if s == baseline else next(colours) for s in names}
    bars = sum(len(values) for values in groups.values())
    height = 1.4 + 0.22 * bars + 0.12 * len(categories) + (0.22 * len(names) if legend else 0)
    with plt.rc_context(_STYLE):
        figure, axes = plt.subplots(figsize=(_WIDTH, height), dpi=120, layout="constrained")
        width = 0.8 / max((len(values) for values in groups.values()), default=1)
        every = [v for values in groups.values() for v in values.values()]
        top, bottom = max(every, default=1.0), min((v for v in every if v > 0), default=1.0)
        right = x_max if x_max is not None else top * (8 if log_x else 1.18)
        for series in names:
            ys, values = [], []
            for c, category in enumerate(categories):
                present = [s for s in names if s in groups[category]]
                if series in present:  # the bars a category has, centred on its tick
                    ys.append(c + width * (present.index(series) + 0.5 - len(present) / 2))
                    values.append(groups[category][series])
            drawn = axes.barh(ys, values, width * 0.92, label=series, color=colour[series])
            labels = [value_format.format(v) for v in values]
            axes.bar_label(drawn, labels, padding=3, fontsize=10)
        axes.set_yticks(range(len(categories)), categories)
        axes.invert_yaxis()
        if log_x:
            axes.set_xscale("log")
            axes.set_xlim(10 ** math.floor(math.log10(bottom)), right)
            axes.xaxis.set_major_formatter(lambda value, _: f"{value:g}")  # 1, 10, 100
        elif x_max is not None:  # ticks up to x_max (100%), room after it for the labels
            axes.set_xlim(0, x_max)
            axes.set_xticks([t for t in axes.get_xticks() if 0 <= t <= x_max])
            axes.set_xlim(0, x_max * 1.1)
        else:
            axes.set_xlim(0, right)
        figure.suptitle(title)  # centred on the figure, so a long one fits
        axes.set_xlabel(x_label)
        axes.grid(True, axis="x", alpha=0.3)
        axes.set_axisbelow(True)
        if legend and len(names) > 1:
            figure.legend(loc="outside lower center", ncol=min(2, len(names)), frameon=False)
        return _save_figure(figure, plt, folder / f"{name}.png")


def outcome_chart(
    name: str,
    title: str,
    x_label: str,
    panels: Mapping[str, Mapping[str, Mapping[str, float]]],
    *,
    colours: Mapping[str, str] = OUTCOME_COLOURS,
    folder: Path = PLOTS_DIR,
) -> Path:
    """Shares that add up to 100, as stacked horizontal bars, one panel per method:
    ``panels[method][row][outcome]`` (rows read top to bottom, the same in every panel;
    outcomes stack left to right in ``colours``' order). Returns the PNG's path."""
    plt = _pyplot()
    rows = list(dict.fromkeys(r for values in panels.values() for r in values))
    height = 1.5 + len(panels) * (0.6 + 0.3 * len(rows))
    with plt.rc_context(_STYLE):
        figure, grid = plt.subplots(
            len(panels), 1, figsize=(_WIDTH, height), dpi=120, sharex=True, squeeze=False,
            layout="constrained",
        )  # fmt: skip
        for axes, (panel, values) in zip(grid[:, 0], panels.items(), strict=True):
            left = [0.0] * len(rows)
            for outcome, colour in colours.items():
                widths = [values.get(r, {}).get(outcome, 0.0) for r in rows]
                drawn = axes.barh(range(len(rows)), widths, 0.75, left=left, color=colour,
                                  label=outcome)  # fmt: skip
                labels = [f"{w:.0f}" if w >= 7 else "" for w in widths]
                axes.bar_label(drawn, labels, label_type="center", fontsize=10)
                left = [a + w for a, w in zip(left, widths, strict=True)]
            axes.set_yticks(range(len(rows)), rows)
            axes.invert_yaxis()
            axes.set_xlim(0, 100)
            axes.set_title(panel, loc="left")
        grid[-1, 0].set_xlabel(x_label)
        figure.suptitle(title)
        handles, labels = grid[0, 0].get_legend_handles_labels()
        figure.legend(handles, labels, loc="outside lower center", ncol=len(colours),
                      frameon=False)  # fmt: skip
        return _save_figure(figure, plt, folder / f"{name}.png")


def _save_figure(figure: Figure, plt: ModuleType, path: Path) -> Path:
    """Save a figure laid out by matplotlib's constrained layout (the canvas grows to
    hold a label wider than its axes rather than cutting it)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, bbox_inches="tight", pad_inches=0.1)
    plt.close(figure)
    return path
