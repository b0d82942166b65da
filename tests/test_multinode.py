"""Three worker nodes, as a scale-out deployment runs them: three `manage.py
qcluster` processes with their own DATA_DIR scratch and NODE_NAME, one shared
PostgreSQL database, one Redis broker and an S3 bucket on a real
S3-compatible server (moto's standalone server, started here on a free
port). 150 short jobs with the tiny models; one node is SIGKILLed (its whole
process group) mid-run and another SIGTERMed. Every job must succeed exactly
once, no job may ever be held by two workers at once, the media and a
project export must read back from S3 through presigned URLs, and no node
may leave a file in its scratch space."""

from __future__ import annotations

import io
import signal
import time
import uuid
import zipfile
from collections import Counter
from datetime import timedelta

import pytest
import requests
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django_q.conf import Conf

from portal.actor import Actor
from portal.models import Membership, Project, Role, Team
from tests.asr_fixtures import tiny_env
from tests.cluster_support import Cluster
from tests.multinode_support import S3Server, files_under, node_env
from tests.queue_support import make_job, tone_wav
from transcription.job_states import JobStatus, Outcome
from transcription.models import Job, JobAttempt, ProjectExport, Transcript
from transcription.services.media import media_presigned_url
from transcription.services.project_exports import project_export_request

JOBS = 150
SHARED_SERVICES = django_settings.DATABASES["default"]["ENGINE"].endswith("postgresql") and bool(
    django_settings.REDIS_URL)

pytestmark = [
    pytest.mark.multinode,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not SHARED_SERVICES, reason=(
        "several nodes need a shared PostgreSQL database and Redis broker (DATABASE_URL and REDIS_URL): "
        "it runs in the PostgreSQL + Redis pass; SQLite is the one-machine setup")),
]


@pytest.fixture
def s3(settings, monkeypatch):
    server = S3Server.start()
    for name, value in server.env().items():
        if name.startswith("AWS_"):
            monkeypatch.setenv(name, value)
    settings.STORAGES = {**settings.STORAGES, "default": server.storage_settings()}
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def nodes(worker_env, tiny_models, tmp_path, s3, settings, monkeypatch):
    """``nodes(n)`` starts n nodes on one broker queue of their own (so no other test run on the
    machine shares it); all are killed at the end."""
    cluster = f"asr-{uuid.uuid4().hex[:8]}"
    settings.Q_CLUSTER = {**settings.Q_CLUSTER, "name": cluster}
    monkeypatch.setattr(Conf, "PREFIX", cluster)  # django-q2 signs tasks with the cluster's name
    base = {**worker_env, **tiny_env(tiny_models)}
    started: list[tuple[Cluster, str, object]] = []

    def start(n: int) -> list[tuple[Cluster, str, object]]:
        for i in range(n):
            name = f"node-{i}"
            data_dir = tmp_path / name
            env = node_env(base, name=name, data_dir=data_dir, s3=s3, cluster=cluster)
            started.append((Cluster(env, tmp_path / f"{name}.log"), name, data_dir))
        return started

    try:
        yield start
    finally:
        for node, _name, _dir in started:
            node.kill()


def succeeded() -> int:
    return Job.objects.filter(status=JobStatus.SUCCEEDED).count()


def wait_until(condition, *, timeout: float, what: str, nodes) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {name}\n{node.tail()[-1500:]}" for node, name, _d in nodes)
            states = Counter(Job.objects.values_list("status", flat=True))
            pytest.fail(f"timed out waiting for {what}; jobs: {dict(states)}\n{tails}")
        time.sleep(0.2)


def test_three_nodes_share_the_queue_and_survive_a_kill_and_a_stop(nodes, s3):
    owner = User.objects.create_user("olga", "olga@example.org", "password")
    team = Team.objects.create(name="Ops")
    Membership.objects.create(team=team, user=owner, role=Role.OWNER)
    project = Project.objects.create(team=team, name="Many files", created_by=owner)
    audio = tone_wav(1.0)
    for i in range(JOBS):
        make_job(project, owner, name=f"clip-{i:03}.wav", seconds=1.0, store=True, queued_ago=JOBS - i,
                 max_attempts=5)
    assert s3.client().list_objects_v2(Bucket=s3.bucket)["KeyCount"] == JOBS

    started = nodes(3)
    (killed, _k, _kd), (stopped, _s, _sd), (_last, _l, _ld) = started
    wait_until(lambda: succeeded() >= 25, timeout=240, what="25 jobs done", nodes=started)
    killed.signal_group(signal.SIGKILL)
    killed.proc.wait()
    wait_until(lambda: succeeded() >= 60, timeout=240, what="60 jobs done", nodes=started)
    stopped.signal_group(signal.SIGTERM)
    wait_until(lambda: not stopped.alive_in_group(), timeout=30, what="the stopped node to exit", nodes=started)
    wait_until(lambda: succeeded() == JOBS, timeout=300, what=f"all {JOBS} jobs done", nodes=started)

    # Every job succeeded exactly once, with one transcript.
    assert Counter(Job.objects.values_list("status", flat=True)) == {JobStatus.SUCCEEDED: JOBS}
    assert Transcript.objects.count() == JOBS
    wins = Counter(JobAttempt.objects.filter(outcome=Outcome.SUCCEEDED).values_list("job_id", flat=True))
    assert len(wins) == JOBS and set(wins.values()) == {1}

    # No double claims: each job's attempts are numbered 1..n, match its counter, and never overlap.
    for job in Job.objects.prefetch_related("attempt_log"):
        attempts = list(job.attempt_log.order_by("number"))
        assert [a.number for a in attempts] == list(range(1, job.attempts + 1)), job.pk
        assert all(a.ended_at is not None for a in attempts), job.pk
        for earlier, later in zip(attempts, attempts[1:], strict=False):
            assert earlier.ended_at <= later.started_at + timedelta(milliseconds=1), (job.pk, earlier.worker,
                                                                                        later.worker)
        assert attempts[-1].outcome == Outcome.SUCCEEDED, job.pk
        assert all(a.outcome in (Outcome.LOST, Outcome.INTERRUPTED) for a in attempts[:-1]), job.pk

    # All three nodes did work, under their own names; the stopped one handed its jobs back at once.
    by_node = Counter(w.split(":")[0] for w in JobAttempt.objects.values_list("worker", flat=True))
    assert set(by_node) == {"node-0", "node-1", "node-2"}, by_node
    assert not JobAttempt.objects.filter(worker__startswith="node-1:", outcome=Outcome.LOST).exists()
    # The kill and the stop came mid-run: jobs were taken from the killed node by the reaper and
    # handed back by the stopped one, then finished elsewhere.
    assert JobAttempt.objects.filter(worker__startswith="node-0:", outcome=Outcome.LOST).exists()
    assert JobAttempt.objects.filter(worker__startswith="node-1:", outcome=Outcome.INTERRUPTED).exists()

    # Media reads back from S3 through presigned URLs.
    for job in Job.objects.select_related("media").order_by("?")[:5]:
        url = media_presigned_url(media=job.media, disposition="attachment")
        assert url and url.startswith(s3.endpoint) and "Signature" in url
        response = requests.get(url, timeout=30)
        assert response.status_code == 200 and response.content == audio

    # A project export is built by a node, stored in S3, and reads back the same way.
    export = project_export_request(actor=Actor.of(owner), project=project, format="txt")
    wait_until(lambda: ProjectExport.objects.get(pk=export.pk).status != "pending", timeout=120,
               what="the project export", nodes=started)
    export.refresh_from_db()
    assert export.status == "ready", export.error
    url = export.file.storage.url(export.file.name)
    assert url.startswith(s3.endpoint)
    archive = zipfile.ZipFile(io.BytesIO(requests.get(url, timeout=30).content))
    assert len(archive.namelist()) == JOBS

    # Nothing is left in any node's scratch space, the killed one's included.
    for _node, name, data_dir in started:
        assert files_under(data_dir) == [], name
