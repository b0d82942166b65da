"""Speech recognition: `audio` (PyAV probe/decode, safe on the web path), `engine` (FunASR, worker
processes only), `pipeline` (pure helpers and the task entry point), `hub` (model resolution)."""
