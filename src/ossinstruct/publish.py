"""Publishing the data set (`ossinstruct publish`): `results/dataset/<teacher>/` as a Hugging Face
dataset repository.

The folder is first staged: the rows as Parquet (`data/`), the SFT set in trl's two formats
(`sft-messages/`: a `messages` conversation per row; `sft-prompt-completion/`: a conversational
`prompt` and `completion`), the manifest, and the card, whose metadata huggingface_hub's
`DatasetCardData` writes (license, size category, task, and one `configs` entry per format, so
`datasets.load_dataset(repo, "sft-messages")` works). Then `HfApi.upload_folder` sends the staged
folder in one commit, to the Hub or to `HF_ENDPOINT`.
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from .card import card_data
from .io import read_json, read_jsonl
from .sft import to_sft_row

CONFIGS = [
    {"config_name": "default", "data_files": [{"split": "train", "path": "data/*.parquet"}]},
    {"config_name": "sft-messages", "data_files": [{"split": "train", "path": "sft-messages/*.parquet"}]},
    {
        "config_name": "sft-prompt-completion",
        "data_files": [{"split": "train", "path": "sft-prompt-completion/*.parquet"}],
    },
]
PART = "train-00000-of-00001.parquet"


class PublishError(RuntimeError):
    pass


def trl_rows(rows: list[dict]) -> tuple[list[dict], list[dict]]:
    """The SFT rows (the paper's instruction, the solution) as trl's `messages` and its
    conversational `prompt`/`completion`; `id` kept to join them back."""
    messages, prompt_completion = [], []
    for row in rows:
        sft = to_sft_row(row)
        user = {"role": "user", "content": sft["instruction"]}
        assistant = {"role": "assistant", "content": sft["response"]}
        messages.append({"id": row["id"], "messages": [user, assistant]})
        prompt_completion.append({"id": row["id"], "prompt": [user], "completion": [assistant]})
    return messages, prompt_completion


def stage(*, folder: str, output: str, repo_id: str, license: str = "other") -> Path:
    """The repository's files, from `results/dataset/<teacher>/`, in `output` (made anew)."""
    import datasets
    from huggingface_hub import DatasetCard

    source, staged = Path(folder), Path(output)
    for name in ("data.jsonl", "manifest.json", "README.md"):
        if not (source / name).is_file():
            raise PublishError(f"{source / name}: not found; build it first: snakemake {source / name}")
    rows = read_jsonl(source / "data.jsonl")
    if not rows:
        raise PublishError(f"{source / 'data.jsonl'}: no rows to publish")
    manifest = read_json(source / "manifest.json")
    if staged.exists():
        shutil.rmtree(staged)
    messages, prompt_completion = trl_rows(rows)
    for part, table in (("data", rows), ("sft-messages", messages), ("sft-prompt-completion", prompt_completion)):
        (staged / part).mkdir(parents=True)
        datasets.Dataset.from_list(table).to_parquet(str(staged / part / PART))
    shutil.copy2(source / "manifest.json", staged / "manifest.json")
    card = DatasetCard((source / "README.md").read_text(encoding="utf-8"))
    card.data = card_data(manifest, license=license, configs=CONFIGS)
    card.text = card.text.replace(
        'load_dataset("json", data_files="data.jsonl", split="train")', f'load_dataset("{repo_id}", split="train")'
    )
    card.save(staged / "README.md")
    return staged


def upload(*, staged: str, repo_id: str, private: bool = False, message: str = "ossinstruct publish") -> str:
    """Send the staged folder to the dataset repository `repo_id` (made if missing); its URL."""
    from huggingface_hub import HfApi

    from .hub import endpoint

    api = HfApi(endpoint=endpoint())
    try:
        api.create_repo(repo_id, repo_type="dataset", private=private, exist_ok=True)
        commit = api.upload_folder(folder_path=staged, repo_id=repo_id, repo_type="dataset", commit_message=message)
    except Exception as error:  # noqa: BLE001 - the Hub's errors name what went wrong; we add where
        raise PublishError(
            f"publishing to {endpoint()} (dataset {repo_id}) failed: {type(error).__name__}: {str(error)[:300]}. "
            "Log in with `hf auth login` (or HF_TOKEN) with write access; the staged folder is kept at "
            f"{staged}"
        ) from None
    return str(getattr(commit, "commit_url", commit))


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="ossinstruct publish",
        description="publish a built data set (results/dataset/<teacher>/) as a Hugging Face dataset repository",
    )
    parser.add_argument("--repo-id", required=True, help="the dataset repository, e.g. my-org/oss-instruct-mine")
    parser.add_argument("--folder", required=True, help="the built data set: results/dataset/<teacher>")
    parser.add_argument("--private", action="store_true", help="make the repository private")
    parser.add_argument(
        "--license",
        default="other",
        help="the data's license as a Hub license id (default other: the teacher's terms and the seed code's apply)",
    )
    parser.add_argument(
        "--staging", default=None, help="where the repository's files are staged (default: <folder>.publish)"
    )
    parser.add_argument("--stage-only", action="store_true", help="stage and check the files; upload nothing")
    args = parser.parse_args(argv)
    staging = args.staging or f"{args.folder.rstrip('/')}.publish"
    try:
        staged = stage(folder=args.folder, output=staging, repo_id=args.repo_id, license=args.license)
        print(f"staged {staged}")
        if not args.stage_only:
            print(upload(staged=str(staged), repo_id=args.repo_id, private=args.private))
    except PublishError as error:
        print(f"ossinstruct publish: {error}")
        return 1
    return 0
