"""Figure 3 in shards: every row's largest TF-IDF similarity to HumanEval, exactly as
`analysis.run_similarity` computes it (one `TfidfVectorizer` fit on every compared set and HumanEval),
with memory bounded by a shard.

The fit is a global step over narrow columns: each shard counts its rows' document frequencies
(`run_terms_shard`, a sorted `term<TAB>df` file); `run_terms` merges them with a heap, adds the compared
sets' and HumanEval's, and computes the IDF of the whole vocabulary as scikit-learn does. A shard then
scores its rows (`run_shard`) on the vocabulary restricted to its own terms and HumanEval's: the columns
keep their sorted order, so every sum runs in the same order as the single fit's and the scores are
bit-identical; the other terms cannot change a row's norm or its products with HumanEval.
"""

from __future__ import annotations

import heapq
import logging
import os
from array import array
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence

import numpy as np

from .analysis import humaneval_texts, row_text, similarity_summary
from .io import read_jsonl, write_json

log = logging.getLogger(__name__)
DOCUMENTS = "#documents"  # the first line of a terms file: the documents counted, then their terms


def _analyzer():
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer().build_analyzer()  # the tokens the single fit counts


def document_frequencies(texts: Iterable[str]) -> tuple[Counter, int]:
    """Each term's number of texts that hold it, and the number of texts."""
    analyze, found, documents = _analyzer(), Counter(), 0
    for text in texts:
        found.update(set(analyze(text)))
        documents += 1
    return found, documents


def write_terms(path: str | os.PathLike, found: Counter, documents: int) -> None:
    from .streams import Writer

    with Writer(path) as out:
        out.write(f"{DOCUMENTS}\t{documents}\n".encode())
        for term in sorted(found):
            out.write(f"{term}\t{found[term]}\n".encode())


def read_terms(path: str | os.PathLike) -> tuple[int, Iterator[tuple[str, int]]]:
    """(documents, the sorted (term, df) pairs, streamed)."""
    handle = open(path, encoding="utf-8")  # noqa: SIM115 (closed by the generator)
    header, documents = handle.readline().rstrip("\n").split("\t")
    if header != DOCUMENTS:
        handle.close()
        raise ValueError(f"{path}: not a terms file (its first line is not {DOCUMENTS})")

    def pairs() -> Iterator[tuple[str, int]]:
        with handle:
            for line in handle:
                term, df = line.rstrip("\n").split("\t")
                yield term, int(df)

    return int(documents), pairs()


def run_terms_shard(*, rows: str, shard: str, terms: str) -> None:
    """The document frequencies of shard `shard` of the rows (a byte range), streamed."""
    from .streams import shard_rows

    found, documents = document_frequencies(row_text(row) for row in shard_rows(rows, shard))
    write_terms(terms, found, documents)


def run_terms(*, shard_terms: Sequence[str], compare: dict[str, str], humaneval: str, terms: str, idf: str) -> None:
    """The whole fit's vocabulary (sorted) with each term's document frequency, merged from the shards'
    sorted files with a heap, and the compared sets' and HumanEval's counted here; `idf`: the IDF of
    every term in that order, computed as `TfidfTransformer.fit` computes it (smoothed, float64)."""
    from .streams import Writer

    sources = [read_terms(path) for path in shard_terms]
    extra = [document_frequencies(row_text(row) for row in read_jsonl(path)) for path in compare.values()]
    extra.append(document_frequencies(humaneval_texts(read_jsonl(humaneval))))
    documents = sum(count for count, _ in sources) + sum(count for _, count in extra)
    streams = [pairs for _, pairs in sources] + [iter(sorted(found.items())) for found, _ in extra]
    frequencies = array("q")  # 8 bytes a term: the one column the global step holds
    with Writer(terms) as out:
        out.write(f"{DOCUMENTS}\t{documents}\n".encode())
        current, total = None, 0
        for term, df in heapq.merge(*streams):
            if term != current:
                if current is not None:
                    out.write(f"{current}\t{total}\n".encode())
                    frequencies.append(total)
                current, total = term, 0
            total += df
        if current is not None:
            out.write(f"{current}\t{total}\n".encode())
            frequencies.append(total)
    # scikit-learn's TfidfTransformer.fit, step for step, on the same array.
    df = np.frombuffer(frequencies, dtype=np.int64).astype(np.float64)
    df += 1.0
    values = np.full_like(df, fill_value=documents + 1, dtype=np.float64)
    values /= df
    np.log(values, out=values)
    values += 1.0
    np.save(idf, values)
    log.info("similarity: %d terms in %d documents", len(frequencies), documents)


class Scorer:
    """Each text's largest cosine similarity to HumanEval in the fit's TF-IDF space, on the fit's
    vocabulary restricted to the terms of `own` (the texts' document frequencies) and HumanEval's."""

    def __init__(self, own: Iterable[str], terms: str, idf: str, references: Sequence[str]) -> None:
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

        analyze = _analyzer()
        wanted = set(own)
        for text in references:
            wanted.update(analyze(text))
        values = np.load(idf, mmap_mode="r")
        _, pairs = read_terms(terms)
        vocabulary, kept = {}, []
        for position, (term, _) in enumerate(pairs):
            if term in wanted:
                vocabulary[term] = len(vocabulary)
                kept.append(values[position])
        self.counter = CountVectorizer(vocabulary=vocabulary)
        self.transformer = TfidfTransformer()
        self.transformer.idf_ = np.asarray(kept, dtype=np.float64)
        self.references = self.transform(list(references)).T.tocsr()

    def transform(self, texts: list[str]):
        return self.transformer.transform(self.counter.transform(texts).astype(np.float64))

    def __call__(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(each text's largest similarity, float32; the index of that reference)."""
        if not texts:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        product = self.transform(texts) @ self.references
        best = product.max(axis=1).toarray().ravel().astype(np.float32)
        return best, np.asarray(product.argmax(axis=1)).ravel()


def run_shard(
    *, rows: str, shard: str, own_terms: str, terms: str, idf: str, humaneval: str, per_row: str, scores: str
) -> None:
    """Shard `shard` of the rows scored against HumanEval, `chunk` rows at a time: `per_row` as
    `analysis.run_similarity` writes it for those rows, `scores` their similarities (float32)."""
    from .streams import Writer, dumps, shard_rows

    tasks = read_jsonl(humaneval)
    _, pairs = read_terms(own_terms)
    score = Scorer((term for term, _ in pairs), terms, idf, humaneval_texts(tasks))
    found, chunk = [], []
    with Writer(per_row) as out:

        def flush() -> None:
            best, nearest = score([row_text(row) for row in chunk])
            for row, value, i in zip(chunk, best, nearest, strict=True):
                line = {"id": row["id"], "similarity": round(float(value), 4)}
                out.write(dumps({**line, "nearest_humaneval": tasks[int(i)]["task_id"]}))
            found.append(best)
            chunk.clear()

        for row in shard_rows(rows, shard, ("id",)):
            chunk.append(row)
            if len(chunk) == 20_000:
                flush()
        flush()
    np.save(scores, np.concatenate(found))


def merge(
    *,
    shard_per_row: Sequence[str],
    shard_scores: Sequence[str],
    terms: str,
    idf: str,
    compare: dict[str, str],
    humaneval: str,
    name: str,
    summary: str,
    per_row: str,
    figure: str,
) -> None:
    """`analysis.run_similarity`'s files from the shards': the rows' lines joined in order, the summary
    over their scores and the compared sets' (scored here, each on its own terms)."""
    from .figures import similarity_figure
    from .streams import concatenate

    concatenate(shard_per_row, per_row)
    references = humaneval_texts(read_jsonl(humaneval))
    scores = {name: np.concatenate([np.load(path) for path in shard_scores])}
    for other, path in compare.items():
        texts = [row_text(row) for row in read_jsonl(path)]
        found, _ = document_frequencies(texts)
        scores[other] = Scorer(found, terms, idf, references)(texts)[0]
    result = similarity_summary(scores)
    write_json(summary, result)
    similarity_figure(result, figure)
