"""How `data/seeds/{python,cpp,shell}.jsonl` were made (kept for provenance; the files are what ships).

The embedded default draws its seeds from these three small corpora, so that every machine draws the
same snippets (a test pins their fingerprints). Every document is under a permissive license:
- python.jsonl: modules of the CPython 3.11.7 standard library (`Lib/*.py`, 1-12 KB), PSF-2.0;
- cpp.jsonl: headers of PyTorch 2.13.0's `c10/util` (`torch/include/c10/util/*.h`, 1.5-6 KB), BSD-3-Clause;
- shell.jsonl: the scripts in `data/seeds/shell/`, written for this project, Apache-2.0.
Each row: `content`, `source` (where the file came from), `license`.

    python data/seeds/make_corpus.py /path/to/cpython-3.11.7/Lib /path/to/site-packages/torch/include/c10/util
"""

import json
import sys
from pathlib import Path

HERE = Path(__file__).parent


def rows(folder: Path, pattern: str, low: int, high: int, source: str, license: str) -> list[dict]:
    found = []
    for path in sorted(folder.glob(pattern)):
        size = path.stat().st_size
        if low <= size <= high:
            found.append(
                {"content": path.read_text(encoding="utf-8"), "source": f"{source}/{path.name}", "license": license}
            )
    return found


def write(name: str, records: list[dict]) -> None:
    with open(HERE / f"{name}.jsonl", "w", encoding="utf-8") as handle:
        for record in records:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
    print(f"{name}: {len(records)} documents")


if __name__ == "__main__":
    lib, c10 = Path(sys.argv[1]), Path(sys.argv[2])
    write("python", rows(lib, "*.py", 1000, 12000, "cpython v3.11.7 Lib", "PSF-2.0"))
    write("cpp", rows(c10, "*.h", 1500, 6000, "pytorch v2.13.0 c10/util", "BSD-3-Clause"))
    write("shell", rows(HERE / "shell", "*.sh", 0, 10**6, "ossinstruct data/seeds/shell", "Apache-2.0"))
