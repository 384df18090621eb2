"""ossinstruct: the OSS-Instruct (Magicoder, ICML 2024) pipeline as a library.

One module per stage of the paper: seeds, generate, parse/clean/decontaminate (curate), sft,
train, export, evaluate, tables. Each reads and writes JSON Lines so that every row can be traced
back to its seed.
"""

__version__ = "0.1.0"
