"""Speaker labels (CAM++ embeddings per VAD piece, clustered per file), as FunASR's pipeline does it.

torch and funasr are imported inside the functions: importing this module stays cheap.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from . import pipeline

Embeddings = tuple[list[list[Any]], Any]  # (sv_chunk chunks, their embeddings tensor)


def embed(am: Any, piece: pipeline.Piece) -> Embeddings:
    import torch
    from funasr.models.campplus.utils import sv_chunk

    chunks = sv_chunk([[piece.start_ms / 1000, piece.end_ms / 1000, np.asarray(piece.samples)]])
    out = am.inference([c[2] for c in chunks], model=am.spk_model, kwargs=am.spk_kwargs)
    return chunks, torch.cat([r["spk_embedding"] for r in out], dim=0)


def label(am: Any, sentences: list[dict[str, Any]], per_piece: Sequence[Embeddings]) -> None:
    """Set each sentence's "speaker" ("Speaker 1", ...) from the embeddings of its file's pieces."""
    import torch
    from funasr.models.campplus.utils import distribute_spk, postprocess

    chunks = [c for piece_chunks, _ in per_piece for c in piece_chunks]
    embedding = torch.cat([e for _, e in per_piece], dim=0).float().cpu()
    labels = am.cb_model(embedding, oracle_num=None)
    turns = postprocess(chunks, None, labels, embedding.numpy())
    distribute_spk(sentences, turns)
    for s in sentences:
        s["speaker"] = f"Speaker {int(s.pop('spk')) + 1}"
