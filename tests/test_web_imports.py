"""Web processes (and the task modules a django-q2 parent imports) never import torch, funasr or faster-whisper:
funasr alone takes ~10 s and ~500 MiB to import, and CUDA state must not exist before a fork."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.asr_fixtures import ROOT

HEAVY = ("torch", "funasr", "faster_whisper", "ctranslate2", "modelscope", "transformers")
SCRIPT = f"""
import sys
import django
django.setup()
from importlib import import_module
from django.conf import settings
from django.test import Client
from django.test.utils import setup_test_environment

setup_test_environment()
import_module(settings.ROOT_URLCONF)  # and, through include(), every URLconf and view module
import transcription.asr.audio, transcription.asr.pipeline, transcription.tasks, transcription.services.uploads
response = Client().get("/accounts/login/")
assert response.status_code == 200, response.status_code
print(sorted(m for m in {HEAVY!r} if m in sys.modules))
"""


@pytest.mark.django_db(transaction=True)
def test_it_serves_pages_without_importing_torch_or_funasr(worker_env):
    done = subprocess.run([sys.executable, "-c", SCRIPT], cwd=ROOT, env=worker_env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
