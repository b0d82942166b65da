"""Speaker labels: CAM++ embeddings per VAD piece, clustered per file, as FunASR's pipeline does it.

The embeddings are kept with the transcript (`SpeakerVectors`), so `cluster` can run again later
with another speaker count without the audio or the speaker model.
torch and funasr are imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import pipeline
from .results import SpeakerVectors

Embeddings = tuple[list[list[Any]], Any]  # (sv_chunk chunks, their embeddings tensor)
_backend: Any = None
_backend_lock = threading.Lock()


def embed(am: Any, piece: pipeline.Piece) -> Embeddings:
    import torch
    from funasr.models.campplus.utils import sv_chunk

    chunks = sv_chunk([[piece.start_ms / 1000, piece.end_ms / 1000, np.asarray(piece.samples)]])
    out = am.inference([c[2] for c in chunks], model=am.spk_model, kwargs=am.spk_kwargs)
    return chunks, torch.cat([r["spk_embedding"] for r in out], dim=0)


def vectors(per_piece: Sequence[Embeddings]) -> SpeakerVectors:
    """The chunk times and embeddings of one file, as plain data."""
    import torch

    chunks = [(float(c[0]), float(c[1])) for piece_chunks, _ in per_piece for c in piece_chunks]
    if not chunks:
        return SpeakerVectors([], np.zeros((0, 0), dtype=np.float32))
    embedding = torch.cat([e for _, e in per_piece], dim=0).float().cpu().numpy()
    return SpeakerVectors(chunks, np.ascontiguousarray(embedding, dtype=np.float32))


def _cluster_backend(am: Any | None) -> Any:
    global _backend
    if am is not None and getattr(am, "cb_model", None) is not None:
        return am.cb_model
    with _backend_lock:
        if _backend is None:
            from funasr.models.campplus.cluster_backend import ClusterBackend

            _backend = ClusterBackend()  # FunASR's defaults, as AutoModel builds it
        return _backend


def label(sentences: list[dict[str, Any]], found: SpeakerVectors, *, count: int | None = None,
          am: Any | None = None) -> None:
    """Set each sentence's "speaker" ("Speaker 1", ...) by clustering the file's embeddings into
    ``count`` speakers (None: as many as the clustering finds). Sentences are timed in ms."""
    import torch
    from funasr.models.campplus.utils import distribute_spk, postprocess

    if not sentences:
        return
    if not found.chunks:
        for s in sentences:
            s["speaker"] = "Speaker 1"
        return
    embedding = torch.from_numpy(np.array(found.vectors, dtype=np.float32))
    labels = _cluster_backend(am)(embedding, oracle_num=count)
    turns = postprocess([[a, b] for a, b in found.chunks], None, labels, embedding.numpy())
    distribute_spk(sentences, turns)
    for s in sentences:
        s["speaker"] = f"Speaker {int(s.pop('spk')) + 1}"
