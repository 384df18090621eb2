"""Figure 3 in shards: every row's largest TF-IDF similarity to HumanEval, exactly as
`analysis.run_similarity` computes it (one `TfidfVectorizer` fit on every compared set and HumanEval),
with memory bounded by a batch of rows.

The fit is a global step over narrow columns: each shard counts its rows' document frequencies
(`run_terms_shard`: sorted runs on disk, merged with a heap into a sorted `term<TAB>df` file);
`run_terms` merges the shards' files the same way, adds the compared sets' and HumanEval's, and
computes the IDF of the whole vocabulary as scikit-learn does. A shard then scores its rows
(`run_shard`) a batch at a time on the vocabulary restricted to the batch's own terms and HumanEval's
(`Scorer`, their IDF from a scratch SQLite index, `IdfIndex`): the columns keep their sorted order, so
every sum runs in the same order as the single fit's and the scores are bit-identical; the other terms
cannot change a row's norm or its products with HumanEval.
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


def run_terms_shard(*, rows: str, shard: str, terms: str, run_rows: int = 100_000) -> None:
    """The document frequencies of shard `shard` of the rows (a byte range), streamed: each `run_rows`
    rows' counts go to a sorted file of their own, and the runs are merged with a heap, so memory is
    bounded by one run's terms whatever the shard's size."""
    import tempfile

    from .streams import shard_rows

    with tempfile.TemporaryDirectory(prefix="terms-", dir=os.path.dirname(os.path.abspath(terms))) as folder:
        analyze, runs, found = _analyzer(), [], Counter()
        counted = [0]  # the documents of the run being counted

        def spill() -> None:
            runs.append(os.path.join(folder, f"run-{len(runs)}.tsv"))
            write_terms(runs[-1], found, counted[0])
            found.clear()
            counted[0] = 0

        for row in shard_rows(rows, shard):
            found.update(set(analyze(row_text(row))))
            counted[0] += 1
            if counted[0] == run_rows:
                spill()
        if counted[0] or not runs:
            spill()
        merge_terms([read_terms(path) for path in runs], terms)


def merge_terms(sources: Sequence[tuple[int, Iterator[tuple[str, int]]]], terms: str) -> array:
    """Sorted (term, df) streams merged with a heap into one terms file, each term's counts added up;
    returns the merged document frequencies in the file's order (8 bytes a term)."""
    from .streams import Writer

    frequencies = array("q")
    with Writer(terms) as out:
        out.write(f"{DOCUMENTS}\t{sum(documents for documents, _ in sources)}\n".encode())
        current, total = None, 0
        for term, df in heapq.merge(*(pairs for _, pairs in sources)):
            if term != current:
                if current is not None:
                    out.write(f"{current}\t{total}\n".encode())
                    frequencies.append(total)
                current, total = term, 0
            total += df
        if current is not None:
            out.write(f"{current}\t{total}\n".encode())
            frequencies.append(total)
    return frequencies


def run_terms(*, shard_terms: Sequence[str], compare: dict[str, str], humaneval: str, terms: str, idf: str) -> None:
    """The whole fit's vocabulary (sorted) with each term's document frequency, merged from the shards'
    sorted files with a heap, and the compared sets' and HumanEval's counted here; `idf`: the IDF of
    every term in that order, computed as `TfidfTransformer.fit` computes it (smoothed, float64)."""
    sources = [read_terms(path) for path in shard_terms]
    extra = [document_frequencies(row_text(row) for row in read_jsonl(path)) for path in compare.values()]
    extra.append(document_frequencies(humaneval_texts(read_jsonl(humaneval))))
    sources += [(documents, iter(sorted(found.items()))) for found, documents in extra]
    frequencies = merge_terms(sources, terms)
    documents = sum(count for count, _ in sources)
    # scikit-learn's TfidfTransformer.fit, step for step, on the same array.
    df = np.frombuffer(frequencies, dtype=np.int64).astype(np.float64)
    df += 1.0
    values = np.full_like(df, fill_value=documents + 1, dtype=np.float64)
    values /= df
    np.log(values, out=values)
    values += 1.0
    np.save(idf, values)
    log.info("similarity: %d terms in %d documents", len(frequencies), documents)


class IdfIndex:
    """The fit's IDF of the terms a job needs (its rows' and HumanEval's), in a scratch SQLite file:
    memory stays bounded whatever the vocabulary. Built by one pass over the fit's sorted terms file
    beside the job's own sorted terms."""

    def __init__(self, path: str | os.PathLike, own: Iterable[str], terms: str, idf: str) -> None:
        import sqlite3

        self.db = sqlite3.connect(str(path))
        self.db.execute("PRAGMA journal_mode = OFF")
        self.db.execute("PRAGMA synchronous = OFF")
        self.db.execute("CREATE TABLE idf (term TEXT PRIMARY KEY, idf REAL)")
        values = np.load(idf, mmap_mode="r")
        _, pairs = read_terms(terms)
        wanted = iter(own)  # sorted, as the fit's terms are
        target = next(wanted, None)
        found = []
        for position, (term, _) in enumerate(pairs):
            while target is not None and target < term:
                target = next(wanted, None)
            if target is None:
                break
            if term == target:
                found.append((term, float(values[position])))
                if len(found) == 10_000:
                    self.db.executemany("INSERT INTO idf VALUES (?, ?)", found)
                    found.clear()
        self.db.executemany("INSERT INTO idf VALUES (?, ?)", found)
        self.db.commit()

    def __call__(self, terms: list[str]) -> np.ndarray:
        """The IDF of each of `terms` (every one of them in the index), float64, in their order."""
        known: dict[str, float] = {}
        for start in range(0, len(terms), 500):
            chunk = terms[start : start + 500]
            marks = ",".join("?" * len(chunk))
            known.update(self.db.execute(f"SELECT term, idf FROM idf WHERE term IN ({marks})", chunk))
        return np.array([known[term] for term in terms], dtype=np.float64)

    def close(self) -> None:
        self.db.close()


class Scorer:
    """Each text's largest cosine similarity to HumanEval in the fit's TF-IDF space. A batch of texts
    is scored on the fit's vocabulary restricted to its own terms and HumanEval's, in the fit's (sorted)
    column order: the same sums in the same order as over the whole vocabulary, so the same bits."""

    def __init__(self, idf: IdfIndex, references: Sequence[str]) -> None:
        self.analyze, self.idf, self.references = _analyzer(), idf, list(references)
        self.reference_terms = set(reference_terms(self.references))

    def __call__(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """(each text's largest similarity, float32; the index of that reference)."""
        from sklearn.feature_extraction.text import CountVectorizer, TfidfTransformer

        if not texts:
            return np.zeros(0, dtype=np.float32), np.zeros(0, dtype=np.int64)
        vocabulary = sorted(self.reference_terms.union(*(self.analyze(text) for text in texts)))
        counter = CountVectorizer(vocabulary={term: i for i, term in enumerate(vocabulary)})
        transformer = TfidfTransformer()
        transformer.idf_ = self.idf(vocabulary)

        def transform(batch: list[str]):
            return transformer.transform(counter.transform(batch).astype(np.float64))

        product = transform(texts) @ transform(self.references).T.tocsr()
        best = product.max(axis=1).toarray().ravel().astype(np.float32)
        return best, np.asarray(product.argmax(axis=1)).ravel()


def reference_terms(references: Sequence[str]) -> list[str]:
    analyze = _analyzer()
    return sorted({term for text in references for term in analyze(text)})


def run_shard(
    *, rows: str, shard: str, own_terms: str, terms: str, idf: str, humaneval: str, per_row: str, scores: str
) -> None:
    """Shard `shard` of the rows scored against HumanEval, `chunk` rows at a time: `per_row` as
    `analysis.run_similarity` writes it for those rows, `scores` their similarities (float32)."""
    import tempfile

    from .streams import Writer, dumps, shard_rows

    tasks = read_jsonl(humaneval)
    references = humaneval_texts(tasks)
    _, pairs = read_terms(own_terms)
    own = heapq.merge((term for term, _ in pairs), reference_terms(references))
    found, chunk = [], []
    with tempfile.TemporaryDirectory(prefix="idf-") as folder, Writer(per_row) as out:
        score = Scorer(IdfIndex(os.path.join(folder, "idf.sqlite"), own, terms, idf), references)

        def flush() -> None:
            best, nearest = score([row_text(row) for row in chunk])
            for row, value, i in zip(chunk, best, nearest, strict=True):
                line = {"id": row["id"], "similarity": round(float(value), 4)}
                out.write(dumps({**line, "nearest_humaneval": tasks[int(i)]["task_id"]}))
            found.append(best)
            chunk.clear()

        for row in shard_rows(rows, shard, ("id",)):
            chunk.append(row)
            if len(chunk) == 5_000:
                flush()
        flush()
        score.idf.close()
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
    import tempfile

    from .figures import similarity_figure
    from .streams import concatenate

    concatenate(shard_per_row, per_row)
    references = humaneval_texts(read_jsonl(humaneval))
    scores = {name: np.concatenate([np.load(path) for path in shard_scores])}
    with tempfile.TemporaryDirectory(prefix="idf-") as folder:
        for number, (other, path) in enumerate(compare.items()):
            texts = [row_text(row) for row in read_jsonl(path)]
            found, _ = document_frequencies(texts)
            own = heapq.merge(sorted(found), reference_terms(references))
            index = IdfIndex(os.path.join(folder, f"idf-{number}.sqlite"), own, terms, idf)
            score = Scorer(index, references)
            parts = [score(texts[start : start + 5_000])[0] for start in range(0, len(texts), 5_000)]
            scores[other] = np.concatenate(parts) if parts else np.zeros(0, dtype=np.float32)
            index.close()
    result = similarity_summary(scores)
    write_json(summary, result)
    similarity_figure(result, figure)
