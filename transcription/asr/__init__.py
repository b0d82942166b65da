"""Speech recognition: `audio` (PyAV probe/decode, safe on the web path), `config` (what an engine is
built from), `engine` (FunASR, worker processes only; its stages are `vad` + `vad_features` (fast
VAD), `paraformer` (ASR batches), `punctuation`, `speakers`), `results` (what it returns), `pipeline`
(pure helpers), `hub` (model resolution), `quiet` (muting funasr's output)."""
