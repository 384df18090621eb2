"""The paper's figures as PNG files, drawn from the analysis summaries (never from raw rows), so a
figure is redrawn in a second when only its looks change."""

from __future__ import annotations

import os


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 150, "font.size": 10, "axes.spines.top": False, "axes.spines.right": False})
    return plt


def similarity_figure(summary: dict, output: str | os.PathLike) -> None:
    """Figure 3: per data set, the share of rows by their largest TF-IDF similarity to HumanEval."""
    plt = _pyplot()
    edges = summary["bin_edges"]
    width = edges[1] - edges[0]
    sets = summary["sets"]
    figure, axes = plt.subplots(len(sets), 1, figsize=(7, 2.4 * len(sets) + 0.6), sharex=True, squeeze=False)
    colors = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for axis, (color, (name, data)) in zip(axes[:, 0], zip(colors, sets.items(), strict=False), strict=False):
        total = max(1, sum(data["counts"]))
        axis.bar(
            edges[:-1],
            [100 * c / total for c in data["counts"]],
            width=width,
            align="edge",
            color=color,
            alpha=0.8,
            label=f"{name} ({data['rows']:,} rows)",
        )
        if data["mean"] is not None:
            axis.axvline(data["mean"], color="black", linestyle="--", linewidth=1, label=f"mean {data['mean']:.3f}")
        axis.set_ylabel("rows (%)")
        axis.legend(loc="upper right", frameon=False)
    axes[-1, 0].set_xlabel("largest cosine similarity to a HumanEval item (TF-IDF)")
    axes[-1, 0].set_xlim(0, 1)
    figure.suptitle("Similarity of training rows to HumanEval (paper Figure 3)")
    figure.tight_layout()
    figure.savefig(output)
    plt.close(figure)


def length_figure(summary: dict, output: str | os.PathLike, tokenizer_name: str) -> None:
    """Token counts of problems and solutions, buckets of 20 (the last holds everything longer)."""
    plt = _pyplot()
    edges = summary["bin_edges"]
    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for axis, part, color in zip(axes, ("problem", "solution"), ("tab:blue", "tab:orange"), strict=True):
        data = summary[part]
        axis.bar(
            edges[:-1],
            data["counts"],
            width=summary["bucket"],
            align="edge",
            color=color,
            alpha=0.85,
            label=f"{part}s (mean {data['mean']} tokens)",
        )
        axis.set_xlabel(f"tokens per {part} ({tokenizer_name})")
        axis.set_xlim(0, edges[-1])
        axis.legend(frameon=False)
        if data["over_max"]:
            axis.annotate(
                f"{data['over_max']} rows ≥ {edges[-1]}",
                xy=(0.98, 0.80),
                xycoords="axes fraction",
                ha="right",
                fontsize=8,
            )
    axes[0].set_ylabel("rows")
    figure.suptitle("Length distribution of problems and solutions")
    figure.tight_layout()
    figure.savefig(output)
    plt.close(figure)


def category_figure(summary: dict, output: str | os.PathLike, model_name: str) -> None:
    """Share of rows per category (nearest category description in embedding space)."""
    plt = _pyplot()
    rows = sorted(summary["categories"], key=lambda item: item["share"])
    figure, axis = plt.subplots(figsize=(9.5, 4.4))
    bars = axis.barh([row["category"] for row in rows], [row["share"] for row in rows], color="tab:green", alpha=0.85)
    for bar, row in zip(bars, rows, strict=True):
        axis.text(
            bar.get_width() + 0.3, bar.get_y() + bar.get_height() / 2, f"{row['share']:.1f}%", va="center", fontsize=8
        )
    axis.set_xlabel(f"rows (%) of {summary['rows']:,}; nearest category by {model_name} embeddings")
    axis.set_xlim(0, max([row["share"] for row in rows] + [1]) * 1.15)
    figure.suptitle("Categories of the generated problems")
    figure.tight_layout()
    figure.savefig(output)
    plt.close(figure)


def loss_curve_figure(metrics: dict, output: str | os.PathLike, run: str) -> None:
    """A run's training loss per optimizer step (the trainer's log), its learning rate beside it."""
    plt = _pyplot()
    curve = metrics["loss_curve"]
    figure, axis = plt.subplots(figsize=(7.5, 4.0))
    steps = [point["step"] for point in curve]
    axis.plot(steps, [point["loss"] for point in curve], marker="o", markersize=3, color="tab:blue", label="loss")
    axis.set_xlabel(f"optimizer step (effective batch {metrics['effective_batch_size']}, {metrics['rows']:,} rows)")
    axis.set_ylabel("training loss")
    rates = [point.get("learning_rate") for point in curve]
    if any(rate is not None for rate in rates):
        twin = axis.twinx()
        twin.plot(steps, rates, color="tab:gray", linestyle="--", linewidth=1, label="learning rate")
        twin.set_ylabel("learning rate", color="tab:gray")
    figure.suptitle(f"{run}: {metrics['optimizer_steps']} steps, final train loss {metrics['train_loss']:.3f}")
    figure.tight_layout()
    figure.savefig(output)
    plt.close(figure)
