"""Reports: decision first, real charts, self-contained, escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import orjson

from livingeval import Response
from livingeval.records import ClusterSummary, GateDecision, ItemResult, Results
from livingeval.report import render_html, render_json, render_markdown, write_report


def _results() -> Results:
    items = (
        ItemResult(
            trace_id="t1",
            cluster=0,
            weight=2.0,
            path="structured",
            candidate=Response(content=None),
            baseline=Response(content="ok"),
            candidate_score=0.0,
            baseline_score=1.0,
            outcome="fail",
            failure_kinds=("malformed_arguments",),
        ),
        ItemResult(
            trace_id="t2",
            cluster=1,
            weight=1.0,
            candidate_score=1.0,
            baseline_score=0.0,
            outcome="candidate",
            dimensions={"clarity": 4.0, "correctness": 5.0},
        ),
    )
    clusters = (
        ClusterSummary(
            cluster=0,
            name="transfer <script>",
            population=300,
            share=0.3,
            previous_share=0.25,
            sampled=40,
            candidate_mean=0.85,
            baseline_mean=1.0,
            delta=-0.15,
            ci_low=-0.25,
            ci_high=-0.05,
            flagged=True,
            failure_counts={"malformed_arguments": 6},
        ),
        ClusterSummary(
            cluster=1,
            name="card arrival",
            population=700,
            share=0.7,
            previous_share=0.75,
            sampled=60,
            candidate_mean=0.6,
            baseline_mean=0.55,
            delta=0.05,
            ci_low=-0.01,
            ci_high=0.11,
        ),
    )
    return Results(
        run_id="abc",
        created_at=datetime(2026, 11, 23, tzinfo=UTC),
        items=items,
        clusters=clusters,
        decision=GateDecision(
            outcome="fail",
            reasons=("cluster #0 'transfer' regressed by 0.150 (p=0.001)",),
            metrics={"regression": {"delta": -0.04, "margin": 0.03}},
            gate="all",
            children=(
                GateDecision(
                    outcome="fail",
                    reasons=("overall delta -0.040 is below -0.030",),
                    metrics={"delta": -0.04, "margin": 0.03, "alpha": 0.05},
                    gate="regression",
                ),
                GateDecision(
                    outcome="fail",
                    reasons=("cluster #0 'transfer' regressed by 0.150 (p=0.001)",),
                    metrics={"margin": 0.05, "failing_clusters": [0]},
                    gate="clusters",
                ),
            ),
        ),
        statistics={"judge": "offline heuristic judge", "judge_calls": 10, "cost_usd": 0.0},
        drift={"alerts": ["cluster #0 grew from 25% to 30%"]},
    )


def test_html_is_self_contained_and_leads_with_the_decision() -> None:
    page = render_html(_results())
    assert page.index("GATE: FAIL") < page.index("<svg")
    assert "regressed by 0.150" in page
    # No external fetches: no src/href to other hosts, no scripts.
    assert not re.search(r"(src|href)\s*=\s*['\"]?(https?:)?//", page)
    assert "<script" not in page.replace("&lt;script", "")
    assert "transfer &lt;script&gt;" in page  # names are escaped
    assert page.count("<svg") >= 3  # forest plot, drift bars, failure types (+ rubric)
    assert "malformed_arguments" in page


def test_markdown_lists_worst_cluster_first() -> None:
    text = render_markdown(_results())
    assert text.startswith("### ❌ livingeval gate: **FAIL**")
    assert text.index("transfer") < text.index("card arrival")


def test_json_is_machine_readable() -> None:
    obj = orjson.loads(render_json(_results()))
    assert obj["decision"]["outcome"] == "fail"
    assert obj["clusters"][0]["flagged"] is True
    assert obj["clusters"][0]["ci"] == [-0.25, -0.05]


def test_write_report_writes_every_format(tmp_path: Path) -> None:
    paths = write_report(_results(), tmp_path / "out")
    assert sorted(p.name for p in paths.values()) == [
        "report.html",
        "report.json",
        "report.md",
        "results.jsonl",
    ]
    rows = [orjson.loads(line) for line in paths["results"].read_bytes().splitlines()]
    assert [r["trace_id"] for r in rows] == ["t1", "t2"]
    assert rows[0]["failure_kinds"] == ["malformed_arguments"]
    assert rows[1]["dimensions"] == {"clarity": 4.0, "correctness": 5.0}


def test_notebook_repr() -> None:
    assert "gate: FAIL" in _results()._repr_html_()


def test_forest_plot_draws_the_gate_margin_from_the_decision_tree() -> None:
    page = render_html(_results())
    forest = page[page.index("<svg") : page.index("</svg>")]
    # The overall delta gate's margin (a child of the combined gate), drawn as -0.03.
    assert "-0.03</text>" in forest
    assert "stroke-dasharray" in forest
