"""Feature-dump dataset, length-bucketed batch stream and the LightningDataModule over it.

The training stream is infinite and indexed by a global batch number: batch k is a pure
function of (seed, k, rank). Resuming therefore only needs k (stored in the checkpoint through
the DataModule state) and gives exactly the batches an uninterrupted run would have seen,
independent of epochs, worker prefetching or how far Lightning's loops had counted.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset, Sampler

from tts_ebm.errors import UserInputError
from tts_ebm.model.variance import continuous_log_f0
from tts_ebm.text import SymbolTable
from tts_ebm.training.config import DataConfig

SPLITS = ("train", "val", "test")


@dataclass
class Utterance:
    id: str
    n_frames: int
    phonemes: str
    text: str


def read_split(dump_dir: str | Path, split: str) -> list[Utterance]:
    """Rows of DUMP/<split>.tsv; errors name the missing or malformed file."""
    path = Path(dump_dir) / f"{split}.tsv"
    if not path.is_file():
        raise FileNotFoundError(
            f"split file not found: {path} (run `tts-ebm prepare features` to create the dump)"
        )
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE)
        expected = ["id", "n_frames", "phonemes", "text"]
        if reader.fieldnames != expected:
            raise UserInputError(f"{path}: header must be {expected}, got {reader.fieldnames}")
        rows = [Utterance(r["id"], int(r["n_frames"]), r["phonemes"], r["text"]) for r in reader]
    if not rows:
        raise UserInputError(f"{path}: no utterances")
    return rows


def read_symbols(dump_dir: str | Path) -> tuple[SymbolTable, str]:
    """The dump's symbol table and language (DUMP/symbols.json); dumps written before it
    existed were English with the fixed default table."""
    path = Path(dump_dir) / "symbols.json"
    if not path.is_file():
        return SymbolTable.default(), "en-us"
    data = json.loads(path.read_text(encoding="utf-8"))
    return SymbolTable.from_dict(data), str(data["language"])


def read_stats(dump_dir: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Per-bin mean and std of the raw log-mel over the train split (DUMP/stats.json)."""
    path = Path(dump_dir) / "stats.json"
    if not path.is_file():
        raise FileNotFoundError(f"feature statistics not found: {path}")
    stats = json.loads(path.read_text())
    mean = np.asarray(stats["mean"], dtype=np.float32)
    std = np.asarray(stats["std"], dtype=np.float32)
    if mean.shape != std.shape or mean.ndim != 1 or not (std > 0).all():
        raise UserInputError(f"{path}: mean/std must be equal-length lists with std > 0")
    return mean, std


class MelDataset(Dataset):
    """(ids, standardised mel (80, T), ln F0 (T,) when the dump has pitch/, optional negative
    mel) per utterance of a split."""

    def __init__(
        self,
        dump_dir: str | Path,
        split: str,
        symbols: SymbolTable,
        mean: np.ndarray,
        std: np.ndarray,
        negatives_dir: str | Path | None = None,
    ) -> None:
        self.dump_dir = Path(dump_dir)
        self.utterances = read_split(dump_dir, split)
        self.tokens = [self._encode(symbols, utt) for utt in self.utterances]  # once, not per item
        self.mean = torch.from_numpy(mean)[:, None]
        self.std = torch.from_numpy(std)[:, None]
        self.negatives_dir = Path(negatives_dir) if negatives_dir else None
        self.pitch_dir = self.dump_dir / "pitch" if (self.dump_dir / "pitch").is_dir() else None

    def __len__(self) -> int:
        return len(self.utterances)

    @staticmethod
    def _encode(symbols: SymbolTable, utt: Utterance) -> Tensor:
        tokens = symbols.encode(utt.phonemes, context=f"utterance {utt.id}")
        if not tokens:
            raise UserInputError(f"{utt.id}: no phoneme symbols in {utt.phonemes!r}")
        return torch.tensor(tokens, dtype=torch.long)

    def _load_mel(self, path: Path) -> Tensor:
        if not path.is_file():
            raise FileNotFoundError(f"mel file not found: {path}")
        mel = torch.from_numpy(np.load(path).astype(np.float32, copy=False))
        if mel.ndim != 2 or mel.shape[0] != self.mean.shape[0]:
            raise UserInputError(
                f"{path}: expected shape ({self.mean.shape[0]}, T), got {mel.shape}"
            )
        return (mel - self.mean) / self.std

    def __getitem__(self, index: int) -> dict[str, Any]:
        utt = self.utterances[index]
        item = {
            "id": utt.id,
            "tokens": self.tokens[index],
            "mel": self._load_mel(self.dump_dir / "mels" / f"{utt.id}.npy"),
        }
        if self.pitch_dir is not None:
            path = self.pitch_dir / f"{utt.id}.npy"
            if not path.is_file():
                raise FileNotFoundError(f"F0 file not found: {path} (rerun `tts-ebm prepare "
                                        "features`; it keeps the mels and adds what is missing)")
            item["log_f0"] = torch.from_numpy(continuous_log_f0(np.load(path),
                                                                item["mel"].shape[1]))
        if self.negatives_dir is not None:
            negative = self._load_mel(self.negatives_dir / f"{utt.id}.npy")
            # another system's durations differ: stretch its mel to the target's frame count
            item["negative"] = torch.nn.functional.interpolate(
                negative[None], size=item["mel"].shape[1], mode="linear", align_corners=False
            )[0]
        return item


def collate(items: list[dict[str, Any]]) -> dict[str, Any]:
    """Zero-pad tokens (B, L), mels (B, D, T) and ln F0 (B, T); negatives become (B, 1, D, T)."""
    token_lengths = torch.tensor([len(i["tokens"]) for i in items])
    mel_lengths = torch.tensor([i["mel"].shape[1] for i in items])
    tokens = torch.zeros(len(items), int(token_lengths.max()), dtype=torch.long)
    mels = torch.zeros(len(items), items[0]["mel"].shape[0], int(mel_lengths.max()))
    for b, item in enumerate(items):
        tokens[b, : token_lengths[b]] = item["tokens"]
        mels[b, :, : mel_lengths[b]] = item["mel"]
    batch = {
        "ids": [i["id"] for i in items],
        "tokens": tokens,
        "token_lengths": token_lengths,
        "mels": mels,
        "mel_lengths": mel_lengths,
    }
    if "log_f0" in items[0]:
        batch["log_f0"] = torch.zeros(len(items), int(mel_lengths.max()))
        for b, item in enumerate(items):
            batch["log_f0"][b, : mel_lengths[b]] = item["log_f0"]
    if "negative" in items[0]:
        negatives = torch.zeros_like(mels)
        for b, item in enumerate(items):
            negatives[b, :, : mel_lengths[b]] = item["negative"]
        batch["negatives"] = negatives[:, None]
    return batch


class BucketBatchStream(Sampler[list[int]]):
    """Infinite stream of length-bucketed batches; batch k depends only on (seed, k, rank).

    Per epoch: shuffle utterances, cut into buckets of `bucket_batches` batches, sort each bucket
    by length, cut into batches, shuffle the batches. Each rank takes every world_size-th batch.
    """

    def __init__(
        self,
        lengths: list[int],
        batch_size: int,
        bucket_batches: int,
        seed: int,
        rank: int = 0,
        world_size: int = 1,
    ) -> None:
        self.lengths = np.asarray(lengths)
        self.batch_size = batch_size
        self.bucket = batch_size * bucket_batches
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.start = 0  # global batch index of the next batch (per rank)
        self.per_epoch = max(1, len(self.epoch_batches(0)) // world_size)

    def epoch_batches(self, epoch: int) -> list[list[int]]:
        rng = np.random.default_rng([self.seed, epoch])
        order = rng.permutation(len(self.lengths))
        batches = []
        for begin in range(0, len(order), self.bucket):
            bucket = order[begin : begin + self.bucket]
            bucket = bucket[np.argsort(self.lengths[bucket], kind="stable")]
            batches += [
                bucket[i : i + self.batch_size].tolist()
                for i in range(0, len(bucket), self.batch_size)
            ]
        return [batches[i] for i in rng.permutation(len(batches))]

    def __iter__(self) -> Iterator[list[int]]:
        k = self.start
        epoch, batches = -1, []
        while True:
            if k // self.per_epoch != epoch:
                epoch = k // self.per_epoch
                batches = self.epoch_batches(epoch)
            position = k % self.per_epoch
            yield batches[(position * self.world_size + self.rank) % len(batches)]
            k += 1


class DumpDataModule(L.LightningDataModule):
    """Train stream (resumable, bucketed) and in-order validation batches over a feature dump."""

    def __init__(
        self,
        config: DataConfig,
        symbols: SymbolTable,
        seed: int,
        stats: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        super().__init__()
        self.config = config
        self.symbols = symbols
        self.seed = seed
        self.dump_dir = Path(config.dump_dir)
        if not self.dump_dir.is_dir():
            raise FileNotFoundError(
                f"feature dump not found: {self.dump_dir} (set data.dump_dir or run "
                "`tts-ebm prepare features`)"
            )
        if config.negatives_dir and not Path(config.negatives_dir).is_dir():
            raise FileNotFoundError(f"data.negatives_dir not found: {config.negatives_dir}")
        # A fine-tuning run normalises with its base model's statistics (`stats`).
        self.mel_mean, self.mel_std = read_stats(self.dump_dir) if stats is None else stats
        for split in ("train", "val"):
            read_split(self.dump_dir, split)  # fail before the trainer starts
        self._start = 0
        self._stream: BucketBatchStream | None = None

    def _dataset(self, split: str) -> MelDataset:
        negatives = self.config.negatives_dir if split == "train" else None
        return MelDataset(
            self.dump_dir, split, self.symbols, self.mel_mean, self.mel_std, negatives
        )

    def _loader(self, dataset: MelDataset, batch_sampler: Any) -> DataLoader:
        workers = self.config.num_workers
        return DataLoader(
            dataset,
            batch_sampler=batch_sampler,
            collate_fn=collate,
            num_workers=workers,
            persistent_workers=workers > 0,
            pin_memory=torch.cuda.is_available(),
            # an explicit generator keeps DataLoader start-up off the global RNG (exact resume)
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        dataset = self._dataset("train")
        trainer = self.trainer
        self._stream = BucketBatchStream(
            [u.n_frames for u in dataset.utterances],
            self.config.batch_size,
            self.config.bucket_batches,
            self.seed,
            rank=trainer.global_rank if trainer else 0,
            world_size=trainer.world_size if trainer else 1,
        )
        self._stream.start = self._start
        return self._loader(dataset, self._stream)

    def val_dataloader(self) -> DataLoader:
        """This rank's share of the val split: every world_size-th utterance, padded by wrapping
        around (as DistributedSampler does) so that every rank validates at least one batch."""
        dataset = self._dataset("val")
        size = self.config.batch_size
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        n = len(dataset)
        order = [(rank + i * world) % n for i in range(math.ceil(n / world))]
        return self._loader(dataset, [order[i : i + size] for i in range(0, len(order), size)])

    def state_dict(self) -> dict[str, Any]:
        """Batches consumed so far (every fetched batch is processed before a save)."""
        consumed = self._start
        if self.trainer is not None:
            consumed = self.trainer.fit_loop.epoch_loop.batch_progress.total.processed
        return {"batches_consumed": int(consumed)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._start = int(state_dict["batches_consumed"])
