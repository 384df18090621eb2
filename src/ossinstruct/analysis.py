"""The paper's data study (§2.3, method §8): similarity to HumanEval, lengths, categories.

Reads curated rows (`problem`, `solution`) and comparison sets; writes JSON summaries that the
figures (`figures.py`) are drawn from:
- `similarity`: for every row, the largest TF-IDF cosine similarity to the 164 HumanEval items
  (prompt + canonical solution), one vectorizer fit on every compared set and HumanEval (Figure 3);
- `lengths`: tokens in problems and in solutions, in buckets of 20 from 0 to 700 (longer rows are
  counted in the last bucket);
- `categories`: each row's embedding assigned to the nearest of the paper's 10 category
  descriptions.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from .io import read_json, read_jsonl, write_json, write_jsonl
from .paths import short_name
from .tokenizer import load_tokenizer

log = logging.getLogger(__name__)

CATEGORIES = (
    "Algorithmic and Data Structure",
    "Mathematical and Computational",
    "Database and SQL",
    "System Design and Architecture",
    "Security and Cryptography",
    "Performance Optimization",
    "Web",
    "Domain Specific",
    "User Interface and Application Design",
    "Data Science and Machine Learning Problems",
)
LENGTH_BUCKET, LENGTH_MAX = 20, 700


def row_text(row: dict) -> str:
    """A row's text for Figure 3: problem + solution (OSS-Instruct), else instruction + response,
    else prompt + completion (the comment-function pairs)."""
    for first, second in (("problem", "solution"), ("instruction", "response"), ("prompt", "completion")):
        if first in row:
            return f"{row[first]}\n{row[second]}"
    raise KeyError(f"row {row.get('id')!r} has no problem, instruction or prompt")


def humaneval_texts(tasks: Sequence[dict]) -> list[str]:
    return [task["prompt"] + task["canonical_solution"] for task in tasks]


def max_similarity(
    sets: dict[str, list[str]], references: list[str], chunk: int = 20000, nearest: dict | None = None
) -> dict[str, np.ndarray]:
    """Per set, each text's largest cosine similarity to any reference, in TF-IDF space; with
    `nearest` (a dict), also the index of that reference per text, stored under the set's name.

    The vectorizer is fit once on every set and the references together, as in the paper. Rows
    are compared in chunks as sparse products (rows x vocabulary) . (vocabulary x references), so
    110K rows need a few hundred MB at most.
    """
    from sklearn.feature_extraction.text import TfidfVectorizer

    from .progress import Progress

    vectorizer = TfidfVectorizer()
    vectorizer.fit([text for texts in sets.values() for text in texts] + list(references))
    reference_matrix = vectorizer.transform(references).T.tocsr()  # rows are L2-normalised
    result = {}
    with Progress(sum(map(len, sets.values())), "similarity") as progress:
        for name, texts in sets.items():
            best = np.zeros(len(texts), dtype=np.float32)
            index = np.zeros(len(texts), dtype=np.int64)
            for start in range(0, len(texts), chunk):
                product = vectorizer.transform(texts[start : start + chunk]) @ reference_matrix
                best[start : start + chunk] = product.max(axis=1).toarray().ravel()
                if nearest is not None:
                    index[start : start + chunk] = np.asarray(product.argmax(axis=1)).ravel()
                progress.advance(len(best[start : start + chunk]))
            result[name] = best
            if nearest is not None:
                nearest[name] = index
    return result


def similarity_summary(scores: dict[str, np.ndarray], bins: int = 50) -> dict:
    """Figure 3's data: per set, its rows, mean and median similarity and the histogram over [0, 1]."""
    import pandas as pd

    edges = np.linspace(0.0, 1.0, bins + 1)
    sets = {}
    for name, values in scores.items():
        column = pd.Series(values)
        sets[name] = {
            "rows": int(column.size),
            "mean": round(float(column.mean()), 4) if column.size else None,
            "median": round(float(column.median()), 4) if column.size else None,
            "counts": np.histogram(column.clip(0.0, 1.0), bins=edges)[0].tolist(),
        }
    return {"bin_edges": [round(float(edge), 4) for edge in edges], "sets": sets}


def length_summary(problems: list[int], solutions: list[int]) -> dict:
    """Histograms of token counts in buckets of 20 over 0..700; longer rows land in the last bucket."""
    import pandas as pd

    edges = list(range(0, LENGTH_MAX + LENGTH_BUCKET, LENGTH_BUCKET))
    lengths = pd.DataFrame(
        {"part": ["problem"] * len(problems) + ["solution"] * len(solutions), "tokens": [*problems, *solutions]}
    )
    lengths["bucket"] = pd.cut(lengths["tokens"].clip(upper=LENGTH_MAX - 1), edges, right=False)

    def histogram(part: str) -> dict:
        rows = lengths[lengths["part"] == part]
        return {
            "counts": rows["bucket"].value_counts(sort=False).tolist(),
            "mean": round(float(rows["tokens"].mean()), 1) if len(rows) else None,
            "over_max": int((rows["tokens"] >= LENGTH_MAX).sum()),
        }

    return {
        "bucket": LENGTH_BUCKET,
        "bin_edges": edges,
        "problem": histogram("problem"),
        "solution": histogram("solution"),
    }


def count_tokens(tokenizer, texts: Sequence[str]) -> list[int]:
    return [len(ids) for ids in tokenizer(list(texts), add_special_tokens=False)["input_ids"]]


class Embedder:
    """Sentence embeddings (mean pooling, L2-normalised) from a sentence-transformers folder such as
    all-MiniLM-L6-v2, with transformers alone. `dtype` bfloat16 runs the model in bfloat16 (several
    times faster on CPUs with AMX or AVX512-BF16; slower where the CPU has neither)."""

    def __init__(self, spec: str, batch_size: int = 64, max_length: int = 256, dtype: str = "float32") -> None:
        import torch
        from transformers import AutoModel, AutoTokenizer

        from .paths import is_packaged, resolve_model_path

        path = str(resolve_model_path(spec)) if is_packaged(spec) else spec
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.device = "cuda" if torch.cuda.is_available() else "cpu"
        self.model = AutoModel.from_pretrained(path).eval().to(self.device)
        if dtype == "bfloat16":
            if self.device == "cpu" and not torch.ops.mkldnn._is_mkldnn_bf16_supported():
                log.warning("this CPU has no native bfloat16: embedding_dtype bfloat16 will be slow")
            self.model = self.model.to(torch.bfloat16)
        elif dtype != "float32":
            raise ValueError(f"config key 'analysis.embedding_dtype': {dtype!r} (float32 or bfloat16)")
        self.batch_size, self.max_length, self.torch = batch_size, max_length, torch

    def __call__(self, texts: Sequence[str], progress: str | None = None) -> np.ndarray:
        """One normalised vector per text, in the texts' order. Texts are batched by length, so a
        batch pads to a similar length (several times faster than batching in file order).
        `progress`: the name to log progress (rows, rate, time left) under."""
        from .progress import Progress

        torch = self.torch
        if not texts:
            return np.zeros((0, self.model.config.hidden_size), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        tracker = Progress(len(texts), progress) if progress else None
        for start in range(0, len(order), self.batch_size):
            indices = order[start : start + self.batch_size]
            batch = self.tokenizer(
                [texts[i] for i in indices],
                padding=True,
                truncation=True,
                max_length=self.max_length,
                return_tensors="pt",
            ).to(self.device)
            with torch.inference_mode():
                hidden = self.model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            vectors[indices] = torch.nn.functional.normalize(pooled, dim=-1).float().cpu().numpy()
            if tracker:
                tracker.advance(len(indices))
        if tracker:
            tracker.close()
        return vectors


def assign_categories(row_vectors: np.ndarray, category_vectors: np.ndarray) -> np.ndarray:
    """Index of the nearest category (cosine; the vectors are normalised) for every row."""
    return (row_vectors @ category_vectors.T).argmax(axis=1)


def category_summary(assigned: np.ndarray, categories: Sequence[str] = CATEGORIES) -> dict:
    """Each category's rows and share (%) of all rows, in the paper's order of the categories."""
    import pandas as pd

    counts = pd.Series(assigned, dtype="int64").value_counts().reindex(range(len(categories)), fill_value=0)
    return category_summary_from_counts(counts.tolist(), categories)


def category_summary_from_counts(counts: Sequence[int], categories: Sequence[str] = CATEGORIES) -> dict:
    """`category_summary` from each category's number of rows (in the order of `categories`)."""
    total = max(1, int(sum(counts)))
    return {
        "rows": int(sum(counts)),
        "categories": [
            {"category": name, "rows": int(count), "share": round(100 * int(count) / total, 2)}
            for name, count in zip(categories, counts, strict=True)
        ],
    }


def run_similarity(
    *, rows: str, compare: dict[str, str], humaneval: str, summary: str, figure: str, name: str, per_row: str
) -> None:
    """Figure 3: every row's largest TF-IDF similarity to HumanEval, for our set and the compared ones
    (`compare`: name -> the set's decontaminated rows, `results/sft/<name>.jsonl`); `per_row` gets our
    rows' similarity and nearest HumanEval task (for the explorer)."""
    from .figures import similarity_figure

    ours = read_jsonl(rows)
    sets = {name: [row_text(row) for row in ours]}
    for other, path in compare.items():
        sets[other] = [row_text(row) for row in read_jsonl(path)]
    tasks = read_jsonl(humaneval)
    nearest: dict = {}
    scores = max_similarity(sets, humaneval_texts(tasks), nearest=nearest)
    write_jsonl(
        per_row,
        [
            {"id": row["id"], "similarity": round(float(score), 4), "nearest_humaneval": tasks[int(i)]["task_id"]}
            for row, score, i in zip(ours, scores[name], nearest[name], strict=True)
        ],
    )
    result = similarity_summary(scores)
    write_json(summary, result)
    similarity_figure(result, figure)


def run_lengths(*, rows: str, tokenizer: str, summary: str, figure: str) -> None:
    from .figures import length_figure

    data = read_jsonl(rows)
    loaded = load_tokenizer(tokenizer)
    problems = count_tokens(loaded, [row["problem"] for row in data])
    solutions = count_tokens(loaded, [row["solution"] for row in data])
    result = {**length_summary(problems, solutions), "rows": len(data), "tokenizer": tokenizer}
    write_json(summary, result)
    length_figure(result, figure, short_name(tokenizer))


def run_categories(*, rows: str, settings: dict, summary: str, figure: str, assignments: str) -> None:
    """Each row's problem embedded and assigned to the nearest of the paper's 10 categories."""
    from .figures import category_figure

    data = read_jsonl(rows)
    embed = Embedder(settings["embedding_model"], settings["embedding_batch_size"], dtype=settings["embedding_dtype"])
    assigned = assign_categories(embed([row["problem"] for row in data], "categories"), embed(list(CATEGORIES)))
    result = {
        **category_summary(assigned),
        "embedding_model": settings["embedding_model"],
        "embedding_dtype": settings["embedding_dtype"],
    }
    write_jsonl(
        assignments, [{"id": row["id"], "category": CATEGORIES[i]} for row, i in zip(data, assigned, strict=True)]
    )
    write_json(summary, result)
    category_figure(result, figure, short_name(settings["embedding_model"]))


def run_loss_curve(*, metrics: str, run: str, figure: str) -> None:
    """The loss curve of a fine-tuning run, from its `train_metrics.json`, for the report."""
    from .figures import loss_curve_figure

    recorded = read_json(metrics)
    if not recorded["loss_curve"]:
        raise ValueError(f"{metrics}: the run logged no loss (no optimizer step was taken)")
    loss_curve_figure(recorded, figure, run)
