"""What the transformers Trainer is handed besides the model: the tokenized rows as a dataset and a
callback that times the training and reports its progress. Loaded only by a training process."""

from __future__ import annotations

import time

from torch.utils.data import Dataset
from transformers import TrainerCallback

from ..progress import Progress


class ExampleRows(Dataset):
    """Tokenized examples (the memory-mapped `examples.read_examples`) as the Trainer reads them: ids and labels."""

    def __init__(self, examples):
        self.examples = examples

    def __len__(self) -> int:
        return len(self.examples)

    def __getitem__(self, i: int) -> dict:
        example = self.examples[i]
        return {"input_ids": example["input_ids"], "labels": example["labels"]}


class Clock(TrainerCallback):
    """The training's start time, and its progress (steps, rate, time left) in the job's log."""

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()
        self.progress = None
        if state.is_world_process_zero:
            self.progress = Progress(state.max_steps - state.global_step, "training", "steps")

    def on_step_end(self, args, state, control, **kwargs):
        if self.progress:
            self.progress.advance()

    def on_train_end(self, args, state, control, **kwargs):
        if self.progress:
            self.progress.close()
