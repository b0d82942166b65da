"""Random-weight FunASR model directories of the real classes, for tests, CI and the benchmark.

Dev and test only. `python -m tests.tiny_models OUTDIR` writes a tiny set for trying the portal
offline and prints the ASR_* settings that point at it.

Hubs are unreachable from CI, so tests build small models of the exact classes the hub names
resolve to (SeacoParaformer, FsmnVADStreaming, CTTransformer, CAMPPlus), in the directory layout
FunASR reads (configuration.json, config.yaml, model.pt, tokens.json, am.mvn). FunASR loads and
runs them through its real code path; the text is garbage, while shapes, segment boundaries and
timings are real. Weights come from FunASR's own builder (seed 0), except the VAD output layer,
which is set so the VAD is an energy gate (speech is cut at its silences, as a real VAD does),
and the punctuation output bias, so it never predicts "<unk>" (which would end up in the text).

FunASR's loader only logs missing or mismatched tensors and keeps random init, so every
directory is reloaded the way AutoModel loads it and compared tensor by tensor (`verify`).
"""

from __future__ import annotations

import argparse
import copy
import hashlib
import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

from transcription.asr.quiet import quiet

# Frames below this level (dB over 25 ms of samples in [-1, 1]) are silence for the VAD.
VAD_ENERGY_DB = -40.0

_WORDS = [
    "the", "a", "of", "and", "to", "in", "is", "this", "that", "it", "for", "on", "with", "as", "be", "we", "are",
    "you", "hello", "good", "morning", "test", "speech", "model", "audio", "voice", "segment",
]
_CHARS = list("你好我们的是在有个这一不了")
ASR_TOKENS = ["<blank>", "<s>", "</s>", *_WORDS, *_CHARS, "@@", "<unk>"]
PUNC_TOKENS = ["<blank>", "<s>", "</s>", *_WORDS, *_CHARS, "<unk>"]

WAV_FRONTEND = {
    "fs": 16000, "window": "hamming", "n_mels": 80, "frame_length": 25,
    "frame_shift": 10, "lfr_m": 7, "lfr_n": 6, "dither": 0.0,
}
_DROPOUTS = {"dropout_rate": 0.1, "positional_dropout_rate": 0.1}
_SANM = {"input_layer": "pe", "pos_enc_class": "SinusoidalPositionEncoder", "normalize_before": True,
         "kernel_size": 11, "sanm_shfit": 0, "selfattention_layer_type": "sanm"}
_DEC_DROPOUTS = {**_DROPOUTS, "self_attention_dropout_rate": 0.1, "src_attention_dropout_rate": 0.1}

ASR_CONFIG: dict[str, Any] = {
    "model": "SeacoParaformer",
    "model_conf": {
        "ctc_weight": 0.0, "lsm_weight": 0.1, "length_normalized_loss": True, "predictor_weight": 1.0,
        "predictor_bias": 1, "sampling_ratio": 0.75, "inner_dim": 64, "bias_encoder_type": "lstm",
        "bias_encoder_bid": False, "seaco_lsm_weight": 0.1, "seaco_length_normal": True,
        "train_decoder": False,
        "NO_BIAS": len(ASR_TOKENS) - 2,  # the real model uses 8377 (< vocab 8404)
    },
    "encoder": "SANMEncoder",
    "encoder_conf": {"output_size": 64, "attention_heads": 4, "linear_units": 128, "num_blocks": 2,
                     "attention_dropout_rate": 0.1, **_DROPOUTS, **_SANM},
    "decoder": "ParaformerSANMDecoder",
    "decoder_conf": {"attention_heads": 4, "linear_units": 128, "num_blocks": 2, "att_layer_num": 2,
                     "kernel_size": 11, "sanm_shfit": 0, **_DEC_DROPOUTS},
    "seaco_decoder": "ParaformerSANMDecoder",
    # layer count is att_layer_num (default 6, as in the real model); pinned to 1 here
    "seaco_decoder_conf": {"attention_heads": 4, "linear_units": 64, "num_blocks": 1, "att_layer_num": 1,
                           "kernel_size": 21, "sanm_shfit": 0, "use_output_layer": False,
                           "wo_input_layer": True, **_DEC_DROPOUTS},
    "predictor": "CifPredictorV3",
    "predictor_conf": {"idim": 64, "threshold": 1.0, "l_order": 1, "r_order": 1, "tail_threshold": 0.45,
                       "smooth_factor2": 0.25, "noise_threshold2": 0.01, "upsample_times": 3,
                       "use_cif1_cnn": False, "upsample_type": "cnn_blstm"},
    "frontend": "WavFrontend",
    "frontend_conf": dict(WAV_FRONTEND),
    "specaug": "SpecAugLFR",
    "specaug_conf": {"apply_time_warp": False, "time_warp_window": 5, "time_warp_mode": "bicubic",
                     "apply_freq_mask": True, "freq_mask_width_range": [0, 30], "lfr_rate": 6,
                     "num_freq_mask": 1, "apply_time_mask": True, "time_mask_width_range": [0, 12],
                     "num_time_mask": 1},
    "tokenizer": "CharTokenizer",
    "tokenizer_conf": {"unk_symbol": "<unk>", "split_with_space": True},
    "ctc_conf": {"dropout_rate": 0.0, "ctc_type": "builtin", "reduce": True, "ignore_nan_grad": True},
    "normalize": None,
}

VAD_CONFIG: dict[str, Any] = {
    "model": "FsmnVADStreaming",
    "model_conf": {
        "sample_rate": 16000, "detect_mode": 1, "snr_mode": 0, "max_end_silence_time": 800,
        "max_start_silence_time": 3000, "do_start_point_detection": True, "do_end_point_detection": True,
        "window_size_ms": 200, "sil_to_speech_time_thres": 150, "speech_to_sil_time_thres": 150,
        "speech_2_noise_ratio": 1.0, "do_extend": 1, "lookback_time_start_point": 200,
        "lookahead_time_end_point": 100, "max_single_segment_time": 60000, "snr_thres": -100.0,
        "noise_frame_num_used_for_snr": 100, "decibel_thres": VAD_ENERGY_DB, "speech_noise_thres": 0.6,
        "fe_prior_thres": 0.0001, "silence_pdf_num": 1, "sil_pdf_ids": [0], "speech_noise_thresh_low": -0.1,
        "speech_noise_thresh_high": 0.3, "output_frame_probs": False, "frame_in_ms": 10,
        "frame_length_ms": 25,
    },
    "encoder": "FSMN",
    # real fsmn-vad: 400/140/4/250/128/20/0/1/0/140/248
    "encoder_conf": {"input_dim": 400, "input_affine_dim": 32, "fsmn_layers": 2, "linear_dim": 32,
                     "proj_dim": 16, "lorder": 20, "rorder": 0, "lstride": 1, "rstride": 0,
                     "output_affine_dim": 32, "output_dim": 8},
    # FunASR 1.4.16's streaming VAD needs the online frontend (the repo template names WavFrontend)
    "frontend": "WavFrontendOnline",
    "frontend_conf": {**WAV_FRONTEND, "lfr_m": 5, "lfr_n": 1},
}

PUNC_CONFIG: dict[str, Any] = {
    "model": "CTTransformer",
    "model_conf": {
        "ignore_id": 0, "embed_unit": 32, "att_unit": 32, "dropout_rate": 0.1,
        # full-width marks: CTTransformer.inference() compares against these
        "punc_list": ["<unk>", "_", "，", "。", "？", "、"],
        "punc_weight": [1.0] * 6, "sentence_end_id": 3,
    },
    "encoder": "SANMEncoder",
    "encoder_conf": {"input_size": 32, "output_size": 32, "attention_heads": 4, "linear_units": 64,
                     "num_blocks": 2, "attention_dropout_rate": 0.0, "padding_idx": 0, **_DROPOUTS, **_SANM},
    "tokenizer": "CharTokenizer",
    "tokenizer_conf": {"unk_symbol": "<unk>"},
}

# CAM++ (class of "cam++") with narrow layers; it computes its own fbank, the frontend only has to build.
SPK_CONFIG: dict[str, Any] = {
    "model": "CAMPPlus",
    "model_conf": {"feat_dim": 80, "embedding_size": 32, "growth_rate": 8, "bn_size": 2, "init_channels": 32,
                   "config_str": "batchnorm-relu", "memory_efficient": True, "output_level": "segment"},
    "frontend": "WavFrontend",
    "frontend_conf": {"fs": 16000},
}

TASKS = {"asr": "auto-speech-recognition", "vad": "voice-activity-detection", "punc": "punctuation",
         "spk": "speaker-verification"}


def _write_am_mvn(path: Path, dim: int, shift: float = -10.0, scale: float = 0.25) -> None:
    """Kaldi-nnet text CMVN as funasr's load_cmvn() parses it (constant values, not real stats)."""
    shifts = " ".join([f"{shift:.6f}"] * dim)
    scales = " ".join([f"{scale:.6f}"] * dim)
    path.write_text(
        f"<Nnet>\n<Splice> {dim} {dim}\n[ 0 ]\n"
        f"<AddShift> {dim} {dim}\n<LearnRateCoef> 0 [ {shifts} ]\n"
        f"<Rescale> {dim} {dim}\n<LearnRateCoef> 0 [ {scales} ]\n</Nnet>\n",
        encoding="utf-8",
    )


def write_model_dir(d: Path, config: dict[str, Any], *, task: str, tokens: list[str] | None = None,
                    mvn_dim: int | None = None) -> None:
    """Write the ModelScope-style files of one model directory (everything but model.pt)."""
    import yaml

    if d.exists():
        shutil.rmtree(d)
    d.mkdir(parents=True)
    (d / "config.yaml").write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    metas: dict[str, Any] = {"init_param": "model.pt", "config": "config.yaml"}
    if tokens is not None:
        (d / "tokens.json").write_text(json.dumps(tokens, ensure_ascii=False, indent=0), encoding="utf-8")
        metas["tokenizer_conf"] = {"token_list": "tokens.json"}
    if mvn_dim is not None:
        _write_am_mvn(d / "am.mvn", mvn_dim)
        metas["frontend_conf"] = {"cmvn_file": "am.mvn"}
    configuration = {"framework": "pytorch", "task": task, "model": {"type": "funasr"},
                     "pipeline": {"type": "funasr-pipeline"}, "file_path_metas": metas}
    (d / "configuration.json").write_text(json.dumps(configuration, ensure_ascii=False, indent=2), encoding="utf-8")


def build_and_save(d: Path, tweak: Callable[[dict[str, Any]], None] | None = None) -> int:
    """Instantiate with FunASR's own builder (no model.pt yet: random init, seed 0), save model.pt.

    Returns the parameter count.
    """
    import torch
    from funasr import AutoModel

    model, _ = AutoModel.build_model(model=str(d), device="cpu", ncpu=1, disable_update=True)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    if tweak is not None:
        tweak(state)
    torch.save(state, d / "model.pt")
    return sum(p.numel() for p in model.parameters())


def vad_energy_gate(state: dict[str, Any]) -> None:
    """Constant posteriors (silence pdf ~5e-5), so every frame above decibel_thres is speech."""
    weight, bias = "encoder.out_linear2.linear.weight", "encoder.out_linear2.linear.bias"
    state[weight].zero_()
    state[bias].zero_()
    state[bias][0] = -8.0


def vad_scored(state: dict[str, Any]) -> None:
    """Silence posteriors that follow the features across the 0.25 decision threshold (~40% of the
    loud frames of speech come out speech), so a VAD test sees the network, not just the energy."""
    weight, bias = "encoder.out_linear2.linear.weight", "encoder.out_linear2.linear.bias"
    state[weight][1:].zero_()
    state[weight][0] *= 100.0
    state[bias].zero_()
    state[bias][0] = -0.5


def punc_no_unk(state: dict[str, Any]) -> None:
    """A trained model never predicts class 0 ("<unk>"); a random one would print it into the text."""
    state["decoder.bias"][0] = -30.0


def verify(d: Path) -> int:
    """Reload `d` as AutoModel does and assert every tensor equals model.pt; returns the count."""
    import torch
    from funasr import AutoModel

    model, kwargs = AutoModel.build_model(model=str(d), device="cpu", ncpu=1, disable_update=True)
    if not str(kwargs.get("init_param", "")).endswith("model.pt"):
        raise AssertionError(f"{d}: FunASR did not pick up model.pt (init_param={kwargs.get('init_param')!r})")
    saved = torch.load(d / "model.pt", map_location="cpu")
    live = model.state_dict()
    if set(saved) != set(live):
        raise AssertionError(f"{d}: tensor names differ: {sorted(set(saved) ^ set(live))[:5]}")
    for name, tensor in saved.items():
        if not torch.equal(tensor, live[name]):
            raise AssertionError(f"{d}: tensor {name} did not reload exactly")
    return len(saved)


def fingerprint() -> str:
    """Changes whenever this builder (or the FunASR/torch it builds with) changes."""
    from importlib.metadata import version

    digest = hashlib.sha256(Path(__file__).read_bytes())
    digest.update(f"funasr {version('funasr')} torch {version('torch')}".encode())
    return digest.hexdigest()[:16]


def build_tiny_models(out: Path) -> dict[str, Path]:
    """Build and verify the tiny directories under `out`: asr, vad, punc, spk, and vad_scored (a VAD
    whose network decides, for comparing VAD implementations)."""
    dirs = {name: out / name for name in (*TASKS, "vad_scored")}
    write_model_dir(dirs["asr"], ASR_CONFIG, task=TASKS["asr"], tokens=ASR_TOKENS, mvn_dim=80 * 7)
    write_model_dir(dirs["vad"], VAD_CONFIG, task=TASKS["vad"], mvn_dim=80 * 5)
    write_model_dir(dirs["vad_scored"], VAD_CONFIG, task=TASKS["vad"], mvn_dim=80 * 5)
    write_model_dir(dirs["punc"], PUNC_CONFIG, task=TASKS["punc"], tokens=PUNC_TOKENS)
    write_model_dir(dirs["spk"], SPK_CONFIG, task=TASKS["spk"])
    tweaks = {"vad": vad_energy_gate, "vad_scored": vad_scored, "punc": punc_no_unk}
    for name, d in dirs.items():
        build_and_save(d, tweak=tweaks.get(name))
    for d in dirs.values():
        verify(d)
    return dirs


def scaled(config: dict[str, Any], **sections: dict[str, Any]) -> dict[str, Any]:
    """A copy of `config` with some `<section>` dicts updated, e.g. scaled(ASR_CONFIG, encoder_conf={...})."""
    out = copy.deepcopy(config)
    for section, values in sections.items():
        out[section].update(values)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="Write tiny random-weight FunASR models (asr, vad, punc, spk).")
    parser.add_argument("outdir", type=Path)
    out = parser.parse_args().outdir.resolve()
    with quiet(logging.ERROR):
        dirs = build_tiny_models(out)
    print(f"Tiny models written to {out} (random weights: the text is gibberish). To use them:")
    for setting, role in (("ASR_MODEL", "asr"), ("ASR_VAD_MODEL", "vad"), ("ASR_PUNC_MODEL", "punc")):
        print(f"export {setting}={dirs[role]}")
    print(f"# optional, for speaker labels: export ASR_SPK_MODEL={dirs['spk']}")


if __name__ == "__main__":
    main()
