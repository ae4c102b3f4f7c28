"""Lag over time as a PNG, drawn by matplotlib (server side: no JS to serve or pin)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence


def lag_chart_png(
    series: Mapping[str, Sequence[tuple[float, int]]],
    title: str = "",
    width: float = 7.0,
    height: float = 2.6,
) -> bytes:
    """One line per series, seconds since the first sample on x, lag (records) on y."""
    # Imported here: the plugin module is loaded by every Airflow component, and only
    # the API server ever draws.
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    axes = figure.subplots()
    starts = [samples[0][0] for samples in series.values() if samples]
    t0 = min(starts) if starts else 0.0
    for name, samples in series.items():
        if samples:
            axes.plot(
                [t - t0 for t, _ in samples],
                [lag for _, lag in samples],
                marker="." if len(samples) < 30 else None,
                label=name,
            )
    axes.set_xlabel("seconds")
    axes.set_ylabel("lag (records)")
    axes.set_ylim(bottom=0)
    axes.grid(alpha=0.3)
    if title:
        axes.set_title(title, fontsize=10)
    if len(series) > 1:
        axes.legend(fontsize=8)
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
