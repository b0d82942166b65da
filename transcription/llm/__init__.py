"""The client of an OpenAI-compatible language-model server (Ollama, vLLM, llama.cpp's server,
OpenAI): configuration, token estimates, the chat call, prompts, the tolerant reader of answers and
the map-reduce over sections of a long transcript. No Django models here: the actions in
``transcription/actions/insight_runs.py`` give it plain lines and record what it returns."""
