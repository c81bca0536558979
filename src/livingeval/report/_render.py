"""Render :class:`~livingeval.records.Results` as HTML, Markdown and JSON."""

from __future__ import annotations

import html
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from livingeval._json import dumps
from livingeval.records import ClusterSummary, GateDecision, ItemResult, Results
from livingeval.report._svg import bar_chart, forest_plot, grouped_bars

__all__ = ["render_html", "render_json", "render_markdown", "write_report"]

_OUTCOME_COLOUR = {"pass": "#1a7f37", "fail": "#cf222e", "inconclusive": "#9a6700"}

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,sans-serif;margin:24px auto;max-width:980px;
color:#1f2328;line-height:1.45;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #d0d7de;
padding-bottom:4px}.decision{border-radius:8px;padding:14px 18px;color:#fff;margin:14px 0}
.decision b{font-size:20px;letter-spacing:.5px}.decision ul{margin:8px 0 0 18px;padding:0}
table{border-collapse:collapse;font-size:13px;width:100%}th,td{border-bottom:1px solid #d0d7de;
padding:4px 8px;text-align:left;vertical-align:top}th{background:#f6f8fa}td.num{text-align:right;
font-variant-numeric:tabular-nums}.flag{color:#cf222e;font-weight:600}.muted{color:#656d76}
.badge{display:inline-block;border-radius:10px;padding:1px 8px;font-size:12px;background:#eaeef2}
code{font-size:12px;background:#f6f8fa;padding:1px 4px;border-radius:4px}
"""


def _regression_threshold(decision: GateDecision) -> float | None:
    """The regression margin the release is held to, found anywhere in the decision tree.

    Combined gates keep their members' decisions in ``children``; the overall delta gate
    (metrics with ``delta`` and ``margin``) is preferred, then any gate with a ``margin``
    (the per-cluster gate uses the same one).
    """

    def walk(node: GateDecision) -> list[Mapping[str, Any]]:
        return [node.metrics, *(m for child in node.children for m in walk(child))]

    found = [m for m in walk(decision) if isinstance(m.get("margin"), int | float)]
    found.sort(key=lambda m: "delta" not in m)
    return float(found[0]["margin"]) if found else None


def _fmt(value: float | None, spec: str = "+.3f") -> str:
    return "–" if value is None else format(value, spec)


def _failure_counts(items: tuple[ItemResult, ...]) -> Counter[str]:
    counts: Counter[str] = Counter()
    for item in items:
        counts.update(set(item.failure_kinds))
    return counts


def _rubric_means(items: tuple[ItemResult, ...]) -> dict[str, float]:
    sums: dict[str, float] = {}
    weights: dict[str, float] = {}
    for item in items:
        for name, value in item.dimensions.items():
            sums[name] = sums.get(name, 0.0) + value * item.weight
            weights[name] = weights.get(name, 0.0) + item.weight
    return {k: sums[k] / weights[k] for k in sorted(sums) if weights[k] > 0}


def _cluster_label(c: ClusterSummary) -> str:
    return f"{c.name} (#{c.cluster})" if c.cluster >= 0 else f"{c.name} (noise)"


def _stat_rows(stats: Mapping[str, Any]) -> str:
    rows = []
    for key, value in stats.items():
        if isinstance(value, float):
            shown = f"{value:,.4f}".rstrip("0").rstrip(".") if value else "0"
        elif isinstance(value, Mapping):
            shown = ", ".join(f"{k}: {v}" for k, v in value.items())
        else:
            shown = str(value)
        rows.append(
            f"<tr><td>{html.escape(key.replace('_', ' '))}</td><td>{html.escape(shown)}</td></tr>"
        )
    return "".join(rows)


def render_html(results: Results, *, title: str = "livingeval release report") -> str:
    """A self-contained HTML report: no scripts, fonts or images are fetched to open it.

    The gate decision and its reasons come first, then per-cluster deltas with intervals,
    cluster shares against the previous window, tool-call failure types, rubric
    dimensions, and judge statistics.

    Args:
        results: What to report.
        title: The page title.

    Returns:
        The HTML document.
    """
    decision = results.decision
    colour = _OUTCOME_COLOUR.get(decision.outcome, "#57606a")
    reasons = (
        "".join(f"<li>{html.escape(r)}</li>" for r in decision.reasons)
        or "<li>no reasons given</li>"
    )
    stats = results.statistics
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<div class='muted'>run <code>{html.escape(results.run_id)}</code>"
        + (f" &middot; {results.created_at:%Y-%m-%d %H:%M UTC}" if results.created_at else "")
        + f" &middot; {len(results.items)} judged items"
        + (f" &middot; judge: {html.escape(str(stats['judge']))}" if "judge" in stats else "")
        + "</div>",
        f"<div class='decision' style='background:{colour}'><b>GATE: {decision.outcome.upper()}</b>"
        f"<ul>{reasons}</ul></div>",
    ]
    clusters = sorted(results.clusters, key=lambda c: (c.delta is None, c.delta or 0.0))
    threshold = _regression_threshold(decision)
    parts.append("<h2>Candidate vs production, per cluster</h2>")
    parts.append(
        forest_plot(
            [(_cluster_label(c), c.delta, c.ci_low, c.ci_high, c.flagged) for c in clusters],
            threshold=None if threshold is None else -abs(threshold),
            title="Weighted score delta (candidate - baseline) with confidence intervals",
        )
    )
    rows = []
    for c in sorted(results.clusters, key=lambda c: -c.share):
        flag = " class='flag'" if c.flagged else ""
        failures = ", ".join(f"{k} {v}" for k, v in sorted(c.failure_counts.items())) or "–"
        example = html.escape(c.examples[0][:90]) if c.examples else ""
        rows.append(
            f"<tr><td{flag}>{html.escape(_cluster_label(c))}</td><td class='num'>{c.share:.1%}</td>"
            f"<td class='num'>{c.population}</td><td class='num'>{c.sampled}</td>"
            f"<td class='num'>{_fmt(c.candidate_mean, '.3f')}</td><td class='num'>{_fmt(c.baseline_mean, '.3f')}</td>"
            f"<td class='num'{flag}>{_fmt(c.delta)}</td>"
            f"<td class='num'>{_fmt(c.ci_low)} … {_fmt(c.ci_high)}</td><td>{html.escape(failures)}</td>"
            f"<td class='muted'>{example}</td></tr>"
        )
    parts.append(
        "<table><tr><th>cluster</th><th>share</th><th>traces</th><th>judged</th><th>candidate</th>"
        "<th>baseline</th><th>delta</th><th>interval</th><th>candidate failures</th><th>example</th></tr>"
        + "".join(rows)
        + "</table>"
    )
    if any(c.previous_share is not None for c in results.clusters):
        ordered = sorted(results.clusters, key=lambda c: -c.share)
        parts.append("<h2>Traffic mix vs the previous window (drift)</h2>")
        parts.append(
            grouped_bars(
                [_cluster_label(c) for c in ordered],
                [
                    ("previous window", [c.previous_share for c in ordered], "#8c959f"),
                    ("this window", [c.share for c in ordered], "#0969da"),
                ],
                title="Cluster share of traffic",
            )
        )
    if results.drift:
        alerts = results.drift.get("alerts", [])
        alert_list = (
            "".join(f"<li>{html.escape(str(a))}</li>" for a in alerts) or "<li>no drift alerts</li>"
        )
        parts.append(f"<ul>{alert_list}</ul>")
    failure_counts = _failure_counts(results.items)
    parts.append("<h2>Tool-call failures of the candidate</h2>")
    if failure_counts:
        parts.append(
            bar_chart(
                sorted(failure_counts.items(), key=lambda kv: -kv[1]),
                title="Judged items with each failure type (structured path)",
            )
        )
    else:
        parts.append("<p class='muted'>No structured-path failures.</p>")
    rubric = _rubric_means(results.items)
    if rubric:
        parts.append("<h2>Rubric dimensions</h2>")
        parts.append(
            bar_chart(
                list(rubric.items()),
                title="Weighted mean score per dimension (never folded into one number)",
                value_format="{:.2f}",
                colour="#0969da",
            )
        )
    parts.append("<h2>Run and judge statistics</h2>")
    parts.append(f"<table>{_stat_rows(stats)}</table>")
    if decision.metrics:
        parts.append("<h2>Gate numbers</h2>")
        parts.append(
            "<pre style='font-size:12px;background:#f6f8fa;padding:8px;overflow:auto'>"
            + html.escape(dumps(decision.metrics, indent=True, sort_keys=True).decode())
            + "</pre>"
        )
    parts.append("</body></html>")
    return "".join(parts)


def render_markdown(results: Results, *, max_clusters: int = 15) -> str:
    """A Markdown summary for a pull-request comment: decision, reasons, worst clusters.

    Args:
        results: What to report.
        max_clusters: How many clusters to list (worst delta first).

    Returns:
        Markdown text.
    """
    decision = results.decision
    icon = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}.get(decision.outcome, "")
    lines = [f"### {icon} livingeval gate: **{decision.outcome.upper()}**", ""]
    lines += [f"- {r}" for r in decision.reasons]
    lines += [
        "",
        "| cluster | share | judged | delta | interval | failures |",
        "|---|---:|---:|---:|---|---|",
    ]
    clusters = sorted(results.clusters, key=lambda c: (c.delta is None, c.delta or 0.0))
    for c in clusters[:max_clusters]:
        name = f"**{_cluster_label(c)}**" if c.flagged else _cluster_label(c)
        failures = ", ".join(f"{k} {v}" for k, v in sorted(c.failure_counts.items())) or ""
        lines.append(
            f"| {name} | {c.share:.1%} | {c.sampled} | {_fmt(c.delta)} | "
            f"{_fmt(c.ci_low)} … {_fmt(c.ci_high)} | {failures} |"
        )
    stats = results.statistics
    keys = ("judge", "judge_calls", "cache_hits", "cost_usd", "swap_flip_rate", "discarded")
    summary = ", ".join(f"{k.replace('_', ' ')}: {stats[k]}" for k in keys if k in stats)
    if summary:
        lines += ["", f"<sub>{summary}</sub>"]
    return "\n".join(lines) + "\n"


def render_json(results: Results) -> bytes:
    """The machine-readable summary: decision, clusters, statistics, drift (no per-item rows)."""
    decision = results.decision
    obj: dict[str, Any] = {
        "run_id": results.run_id,
        "created_at": None if results.created_at is None else results.created_at.isoformat(),
        "decision": {
            "outcome": decision.outcome,
            "reasons": list(decision.reasons),
            "metrics": dict(decision.metrics),
            "gate": decision.gate,
        },
        "clusters": [
            {
                "cluster": c.cluster,
                "name": c.name,
                "population": c.population,
                "share": c.share,
                "previous_share": c.previous_share,
                "sampled": c.sampled,
                "candidate_mean": c.candidate_mean,
                "baseline_mean": c.baseline_mean,
                "delta": c.delta,
                "ci": [c.ci_low, c.ci_high],
                "flagged": c.flagged,
                "p_value": c.p_value,
                "failure_counts": dict(c.failure_counts),
            }
            for c in results.clusters
        ],
        "statistics": dict(results.statistics),
        "drift": None if results.drift is None else dict(results.drift),
        "config": dict(results.config),
    }
    return dumps(obj, indent=True, sort_keys=True)


def write_report(results: Results, out_dir: str | Path) -> dict[str, Path]:
    """Write ``report.html``, ``report.md``, ``report.json`` and ``results.jsonl`` to ``out_dir``.

    Returns:
        ``{"html": ..., "markdown": ..., "json": ..., "results": ...}`` paths.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {
        "html": out / "report.html",
        "markdown": out / "report.md",
        "json": out / "report.json",
        "results": out / "results.jsonl",
    }
    paths["html"].write_text(render_html(results), encoding="utf-8")
    paths["markdown"].write_text(render_markdown(results), encoding="utf-8")
    paths["json"].write_bytes(render_json(results))
    results.to_jsonl(paths["results"])
    return paths
