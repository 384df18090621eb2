"""A scan for secrets in seed snippets before any teacher sees them (`seeds.scan_secrets`; not the
paper's: its seeds are public code). Company code sent to a hosted API must not carry its keys.

Each snippet is scanned by Yelp's detect-secrets with its default plugins and filters (cloud keys,
private keys, tokens, passwords assigned in code, high-entropy strings), as a file with its
language's extension, so the plugins read it as that language. A flagged snippet is not a seed; the
report names where it came from and what was found, never the secret itself.
"""

from __future__ import annotations

import tempfile
from collections import Counter
from pathlib import Path

# The extension detect-secrets reads a snippet of a language as (its keyword rules depend on it)
EXTENSIONS = {
    "python": ".py", "cpp": ".cpp", "c": ".c", "shell": ".sh", "java": ".java", "typescript": ".ts",
    "javascript": ".js", "csharp": ".cs", "c-sharp": ".cs", "rust": ".rs", "php": ".php", "swift": ".swift",
    "go": ".go", "ruby": ".rb", "kotlin": ".kt", "scala": ".scala", "yaml": ".yaml", "json": ".json",
}  # fmt: skip


class SecretScan:
    """Scans batches of seed rows and keeps what it flagged (`report()`)."""

    def __init__(self) -> None:
        self.scanned = 0
        self.flagged: list[dict] = []

    def secrets_in(self, rows: list[dict]) -> list[list[str]]:
        """The kinds of secret found in each row's `seed` (an empty list: none)."""
        from detect_secrets import SecretsCollection
        from detect_secrets.settings import default_settings

        found: list[list[str]] = []
        with tempfile.TemporaryDirectory(prefix="ossinstruct-secrets-") as folder, default_settings():
            for number, row in enumerate(rows):
                path = Path(folder) / f"seed-{number}{EXTENSIONS.get(row['lang'], '.txt')}"
                path.write_text(row["seed"], encoding="utf-8", errors="surrogatepass")
                collection = SecretsCollection()
                collection.scan_file(str(path))
                found.append(sorted({secret.type for name in collection.files for secret in collection[name]}))
        self.scanned += len(rows)
        for row, kinds in zip(rows, found, strict=True):
            if kinds:
                self.flagged.append(
                    {key: row[key] for key in ("lang", "source", "start_line", "n_lines")} | {"types": kinds}
                )
        return found

    def report(self) -> dict:
        kinds = Counter(kind for row in self.flagged for kind in row["types"])
        return {
            "scanned": self.scanned,
            "flagged": len(self.flagged),
            "by_type": dict(sorted(kinds.items())),
            "seeds": self.flagged,
        }
