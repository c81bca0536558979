"""Sharded input: streamed shard by shard; strata fitted on a seeded sample, shards assigned."""

from __future__ import annotations

import gzip
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from livingeval import Trace
from livingeval._json import dumps, trace_to_obj
from livingeval.demo import generate_window
from livingeval.distributed import (
    RayExecutor,
    ShardedTraceSource,
    _shards,
    sample_window,
    stratify_shards,
)
from livingeval.embed import TraceView, default_embedder, embed_traces
from livingeval.errors import ConfigError, LivingEvalWarning
from livingeval.pipeline import InProcessExecutor
from livingeval.scrub import no_scrubbing
from livingeval.stratify import HDBSCANStratifier, stratified_sample

TRACES = generate_window(240, seed=11).traces
with warnings.catch_warnings():  # the announced "scrubbing is off" warning, on purpose
    warnings.simplefilter("ignore", LivingEvalWarning)
    FAST = no_scrubbing(reason="generated traces hold no personal data; keeps the test fast")


def _write(folder: Path, traces: Sequence[Trace], shards: int) -> Path:
    folder.mkdir()
    for i in range(shards):
        lines = b"".join(dumps(trace_to_obj(t)) + b"\n" for t in traces[i::shards])
        if i % 2:
            (folder / f"part-{i:03d}.jsonl.gz").write_bytes(gzip.compress(lines))
        else:
            (folder / f"part-{i:03d}.jsonl").write_bytes(lines)
    return folder


def _by_id(result: object, source: ShardedTraceSource) -> dict[str, int]:
    labels = result.labels  # type: ignore[attr-defined]
    return {
        t.id: int(label)
        for i, part in enumerate(labels)
        for t, label in zip(source.shard(i), part, strict=True)
    }


def test_a_directory_of_shards_streams_every_trace(tmp_path: Path) -> None:
    source = ShardedTraceSource(_write(tmp_path / "s", TRACES, 4))
    assert len(source) == 4
    assert sorted(t.id for t in source) == sorted(t.id for t in TRACES)
    assert len(ShardedTraceSource(str(tmp_path / "s" / "*.gz"))) == 2
    with pytest.raises(ConfigError, match="no trace shards"):
        ShardedTraceSource(tmp_path / "missing")


def test_the_fit_sample_and_labels_do_not_depend_on_the_sharding(tmp_path: Path) -> None:
    # PCA reduction: the property is the stratifier's inputs, and UMAP's JIT costs a minute.
    stratifier = HDBSCANStratifier(reduction="pca", min_cluster_size=5, seed=0)
    results = []
    for shards in (3, 5):
        source = ShardedTraceSource(_write(tmp_path / f"s{shards}", TRACES, shards))
        result = stratify_shards(
            source,
            executor=InProcessExecutor(),
            scrubber=FAST,
            stratifier=stratifier,
            fit_size=120,
            seed=7,
        )
        assert result.total == len(TRACES)
        assert len(result.fit_ids) == 120
        results.append((result, _by_id(result, source)))
    (three, labels3), (five, labels5) = results
    assert sorted(three.fit_ids) == sorted(five.fit_ids)
    assert labels3 == labels5
    assert len(set(labels3.values()) - {-1}) >= 3  # real clusters were found
    other = stratify_shards(
        ShardedTraceSource(tmp_path / "s3"),
        executor=InProcessExecutor(),
        scrubber=FAST,
        stratifier=stratifier,
        fit_size=120,
        seed=8,
    )
    assert sorted(other.fit_ids) != sorted(three.fit_ids)  # the seed picks the sample


@pytest.mark.slow
def test_shards_assigned_on_ray_equal_in_process(ray_address: str, tmp_path: Path) -> None:
    source = ShardedTraceSource(_write(tmp_path / "s", TRACES, 4))
    kwargs = {
        "scrubber": FAST,
        "stratifier": HDBSCANStratifier(min_cluster_size=5, seed=0),
        "fit_size": 150,
    }
    local = stratify_shards(source, executor=InProcessExecutor(), **kwargs)  # type: ignore[arg-type]
    on_ray = stratify_shards(source, executor=RayExecutor(address=ray_address), **kwargs)  # type: ignore[arg-type]
    assert local.fit_ids == on_ray.fit_ids
    assert all(np.array_equal(a, b) for a, b in zip(local.labels, on_ray.labels, strict=True))
    assert local.counts() == on_ray.counts()


@pytest.mark.parametrize("margin", [16.0, 0.05], ids=["default-margin", "redraws"])
def test_the_sharded_sample_is_the_one_the_whole_window_gives(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, margin: float
) -> None:
    """Also when the candidates kept per cell fall short (a tiny margin) and the driver must
    draw again with a higher threshold."""
    monkeypatch.setattr(_shards, "_CANDIDATE_MARGIN", margin)
    if margin < 1:
        monkeypatch.setattr(_shards, "_FLOOR_MARGIN", 0)
    calls: list[int] = []
    gather = _shards._gather_candidates

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return gather(*args, **kwargs)

    monkeypatch.setattr(_shards, "_gather_candidates", counted)
    source = ShardedTraceSource(_write(tmp_path / "s", TRACES, 3))
    embedder = default_embedder()
    view = TraceView.LAST_USER_TURN
    window = sample_window(
        source,
        executor=InProcessExecutor(),
        scrubber=FAST,
        embedder=embedder,
        stratifier=HDBSCANStratifier(reduction="pca", min_cluster_size=5, seed=0),
        view=view,
        size=60,
        seed=3,
        noise_weight=0.2,
        min_per_stratum=2,
        cap_key="tenant",
        max_group_share=0.25,
        fit_size=150,
        chunk_size=50,  # the 80-trace shards are embedded in two batches
    )
    # The whole window, in shard order, with every trace assigned to the same strata.
    everything = [FAST.scrub(t) for t in source]
    labels = window.strata.assign(embed_traces(embedder, everything, view=view))
    tenants = [str(t.metadata.get("tenant", "")) for t in everything]
    assert len(set(tenants)) > 1  # the group cap is exercised
    whole = stratified_sample(
        [t.id for t in everything],
        labels,
        size=60,
        seed=3,
        noise_weight=0.2,
        min_per_stratum=2,
        groups=tenants,
        max_group_share=0.25,
    )
    assert window.total == len(everything) == len(TRACES)
    assert window.sample.trace_ids == whole.trace_ids
    assert np.array_equal(window.sample.weights, whole.weights)
    assert window.sample.allocation == whole.allocation
    assert [t.id for t in window.sampled] == list(whole.trace_ids)
    assert window.sampled[0] == next(t for t in everything if t.id == whole.trace_ids[0])
    assert sum(window.populations.values()) == len(TRACES)
    assert len(window.fit_traces) == 150
    assert (len(calls) > 1) == (margin < 1), calls  # the tiny margin really redrew


class _CountingExecutor(InProcessExecutor):
    """In-process, recording each ``map`` call's stage and number of chunks."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def map(self, fn, chunks):  # type: ignore[no-untyped-def]
        self.calls.append((type(fn).__name__, len(chunks)))
        return super().map(fn, chunks)


def test_the_driver_folds_shard_results_a_wave_at_a_time(tmp_path: Path) -> None:
    """With 12 shards and one worker, neither pass over every shard hands the driver more
    than 4 shards' results at once (the fetch of the sampled traces is bounded by the
    sample), and the fit sample is the one a single call over all shards gives."""
    source = ShardedTraceSource(_write(tmp_path / "s", TRACES, 12))
    kwargs = {
        "scrubber": FAST,
        "embedder": default_embedder(),
        "stratifier": HDBSCANStratifier(reduction="pca", min_cluster_size=5, seed=0),
        "view": TraceView.LAST_USER_TURN,
        "size": 40,
        "seed": 1,
        "noise_weight": 0.2,
        "min_per_stratum": 1,
        "cap_key": None,
        "max_group_share": None,
        "fit_size": 100,
    }
    counting = _CountingExecutor()
    window = sample_window(source, executor=counting, **kwargs)  # type: ignore[arg-type]
    waves = [
        (stage, n) for stage, n in counting.calls if stage in ("_SampleShard", "_SummariseShard")
    ]
    assert waves == [("_SampleShard", 4)] * 3 + [("_SummariseShard", 4)] * 3, counting.calls
    # Folding in waves picks the same fit sample and sample as one call over every shard.
    whole = stratify_shards(
        source,
        executor=InProcessExecutor(),
        scrubber=FAST,
        stratifier=HDBSCANStratifier(reduction="pca", min_cluster_size=5, seed=0),
        fit_size=100,
        seed=1,
    )
    assert tuple(t.id for t in window.fit_traces) == whole.fit_ids
    assert window.total == len(TRACES)
