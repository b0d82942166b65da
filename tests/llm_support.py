"""pytest plugin for the insights tests: a real OpenAI-compatible server (``transformers serve``
on a tiny random-weight Llama built here, once per session, on a free port) for everything the wire
decides, and a small scripted OpenAI-compatible server (the double at that boundary only) for
well-formed structured answers, which random weights never write.

The tiny model (see ../shared/llm-offline.md): a ByteLevel BPE tokenizer trained on a few
sentences, an untied 2-layer Llama whose lm_head rows for special and non-printable tokens are
zeroed so every reply is printable text. Built into ``.cache/tiny-llm/<fingerprint>``."""

from __future__ import annotations

import hashlib
import inspect
import json
import os
import shutil
import socket
import subprocess
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
CONTEXT = 2048
CHAT_TEMPLATE = ("{% for m in messages %}<|{{ m['role'] }}|>{{ m['content'] }}<|end|>{% endfor %}"
                 "{% if add_generation_prompt %}<|assistant|>{% endif %}")
SPECIALS = ["<|pad|>", "<|end|>", "<|system|>", "<|user|>", "<|assistant|>"]
CORPUS = [
    "The meeting starts at nine. Alice will send the budget by Friday.",
    "We decided to move the launch to March. Bob owns the website.",
    "Summary: the team agreed on the plan and the next steps.",
    "大家好，欢迎参加今天的会议。我们先讨论预算问题。",
    '{"text": "a summary", "points": ["one", "two"], "segments": [1, 2]}',
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _build_tiny_llm(target: Path) -> None:
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM, PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=512, special_tokens=SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(CORPUS * 20, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tokenizer, pad_token="<|pad|>", eos_token="<|end|>",
                                   bos_token=None, unk_token=None)
    fast.chat_template = CHAT_TEMPLATE
    fast.save_pretrained(target)
    torch.manual_seed(0)
    config = LlamaConfig(vocab_size=len(fast), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=CONTEXT,
                         tie_word_embeddings=False, pad_token_id=fast.pad_token_id,
                         eos_token_id=fast.eos_token_id, bos_token_id=None)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        # Greedy decoding would otherwise repeat a special token, stripped to an empty reply.
        weight = model.lm_head.weight
        weight.mul_(20)
        for token_id in range(len(fast)):
            piece = fast.decode([token_id])
            if token_id in fast.all_special_ids or not piece.strip() or not piece.isprintable():
                weight[token_id].zero_()
    model.generation_config.eos_token_id = fast.eos_token_id
    model.save_pretrained(target)


@pytest.fixture(scope="session")
def tiny_llm_dir() -> Path:
    fingerprint = hashlib.sha256(inspect.getsource(_build_tiny_llm).encode() + repr(CORPUS).encode()).hexdigest()[:12]
    cache = ROOT / ".cache" / "tiny-llm" / fingerprint
    if (cache / "config.json").is_file():
        return cache
    staging = cache.with_name(f"{cache.name}.tmp{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    _build_tiny_llm(staging)
    try:
        staging.rename(cache)
    except OSError:  # a parallel session got there first
        shutil.rmtree(staging)
    return cache


@dataclass
class RealServer:
    base_url: str  # .../v1
    model: str
    process: subprocess.Popen


@pytest.fixture(scope="session")
def llm_server(tiny_llm_dir: Path) -> Iterator[RealServer]:
    """``transformers serve`` on the tiny model, started once per session on a free port."""
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false",
           "OMP_NUM_THREADS": "1"}
    log = (ROOT / "data" / "test").joinpath(f"transformers-serve-{port}.log")
    log.parent.mkdir(parents=True, exist_ok=True)
    executable = Path(os.sys.executable).with_name("transformers")
    with log.open("wb") as out:
        process = subprocess.Popen([str(executable), "serve", str(tiny_llm_dir), "--host", "127.0.0.1",
                                    "--port", str(port), "--device", "cpu"], stdout=out, stderr=subprocess.STDOUT,
                                   env=env)
    deadline = time.monotonic() + 120
    try:
        while True:
            if process.poll() is not None:
                pytest.fail(f"transformers serve exited: {log.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"transformers serve did not start: {log.read_text()[-2000:]}")
            time.sleep(0.5)
        yield RealServer(base_url=f"http://127.0.0.1:{port}/v1", model=str(tiny_llm_dir), process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


Reply = Callable[[dict[str, Any]], Any]


@dataclass
class ScriptedServer:
    """An OpenAI-compatible server whose answers a test writes: ``reply(request body)`` returns the
    message content (str), or (status, body dict) to answer an error. It reports usage from the
    same token estimate the portal uses, and ``max_model_len`` on /v1/models."""

    url: str = ""
    model: str = "scripted-model"
    context: int = 4096
    reply: Reply = lambda body: "{}"  # noqa: E731
    requests: list[dict[str, Any]] = field(default_factory=list)
    release: threading.Event = field(default_factory=threading.Event)
    stall: bool = False

    def prompt_tokens(self, body: dict[str, Any]) -> int:
        from transcription.llm.tokens import estimate_messages

        return estimate_messages(body["messages"])


def _handler(server: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/v1/models":
                self._send(200, {"object": "list", "data": [
                    {"id": server.model, "object": "model", "max_model_len": server.context}]})
            else:
                self._send(404, {"error": {"message": "not found"}})

        def do_POST(self) -> None:  # noqa: N802
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            if self.path != "/v1/chat/completions":
                self._send(404, {"error": {"message": "not found"}})
                return
            body["_authorization"] = self.headers.get("Authorization", "")
            server.requests.append(body)
            if server.stall:
                server.release.wait(30)
                return
            answer = server.reply(body)
            if isinstance(answer, tuple):
                self._send(*answer)
                return
            self._send(200, {
                "id": "chatcmpl-1", "object": "chat.completion", "model": server.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": answer}}],
                "usage": {"prompt_tokens": server.prompt_tokens(body), "completion_tokens": 7,
                          "total_tokens": server.prompt_tokens(body) + 7}})

    return Handler


@pytest.fixture
def scripted_llm(settings) -> Iterator[ScriptedServer]:
    """A scripted server, with the portal's LLM_* settings pointing at it."""
    server = ScriptedServer()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    settings.LLM_BASE_URL = server.url
    settings.LLM_MODEL = server.model
    settings.LLM_API_KEY = "sk-test-secret"
    settings.LLM_CONTEXT_TOKENS = 0
    settings.LLM_RETRY_BASE_SECONDS = 0
    settings.LLM_TIMEOUT_SECONDS = 30
    from transcription.llm.context import context_forget

    context_forget()
    try:
        yield server
    finally:
        server.release.set()
        httpd.shutdown()
        httpd.server_close()
        context_forget()
