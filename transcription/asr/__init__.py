"""Speech recognition: `audio` (PyAV probe/decode, safe on the web path), `engine` (FunASR, worker
processes only; its stages live in `paraformer`, `speakers`), `pipeline` (pure helpers), `hub`
(model resolution), `quiet` (muting funasr's output)."""
