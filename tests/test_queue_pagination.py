"""My queue with hundreds of active jobs: paginated, the running job first,
then the next ones up in the order workers will take them; a short page
whatever the queue's length; and the shared schedule that long queues use
shows a change at once."""

from __future__ import annotations

import re

import pytest

from tests.api_support import fresh_cache  # noqa: F401
from tests.conftest import login
from tests.queue_support import make_job
from transcription.job_states import JobStatus
from transcription.services.claim import queue_order

pytestmark = pytest.mark.django_db


def active_rows(html: str) -> list[str]:
    section = html.split('id="active-title"', 1)[1].split('id="finished-title"', 1)[0]
    return re.findall(r'<tr id="job-([0-9a-f-]+)"', section)


def finished_rows(html: str) -> list[str]:
    return re.findall(r'<tr id="job-([0-9a-f-]+)"', html.split('id="finished-title"', 1)[1])


@pytest.fixture
def long_queue(project, alice, bob):
    """Alice: one running job, 40 queued, 15 finished; Bob's queued jobs interleave with hers."""
    running = make_job(project, alice, name="running.wav", status=JobStatus.RUNNING)
    for i in range(40):
        make_job(project, alice, name=f"a-{i}.wav", queued_ago=1000 - 2 * i)
        make_job(project, bob, name=f"b-{i}.wav", queued_ago=999 - 2 * i)
    for i in range(15):
        make_job(project, alice, name=f"done-{i}.wav", status=JobStatus.SUCCEEDED, started_at=None)
    return running


@pytest.mark.parametrize("shared", [False, True])
def test_my_queue_shows_the_running_job_then_the_next_up_a_page_at_a_time(project, alice, long_queue, settings,
                                                                          shared):
    settings.QUEUE_SNAPSHOT_MIN_JOBS = 10 if shared else 10_000
    client = login(alice)
    mine_in_order = [str(w.pk) for w in queue_order() if w.user == alice.pk]
    first = client.get("/queue/").content.decode()
    rows = active_rows(first)
    assert len(rows) == 25 and rows[0] == str(long_queue.pk)
    places = [int(p) for p in re.findall(r'title="Position in the queue">#(\d+)<', first)]
    assert places == sorted(places) and len(places) == 24
    second = active_rows(client.get("/queue/?active=2").content.decode())
    assert len(second) == 16 and not set(second) & set(rows)
    assert rows[1:] + second == mine_in_order
    # Finished jobs: ten a page.
    assert len(finished_rows(first)) == 10
    assert len(finished_rows(client.get("/queue/?page=2").content.decode())) == 5


def test_the_page_stays_small_however_long_the_queue(project, alice, settings):
    settings.QUEUE_SNAPSHOT_MIN_JOBS = 10
    for i in range(300):
        make_job(project, alice, name=f"long-file-name-{i:03}.wav", queued_ago=1000 - i)
    response = login(alice).get("/queue/")
    assert len(active_rows(response.content.decode())) == 25
    assert len(response.content) < 60_000


def test_the_shared_schedule_shows_a_new_job_at_once(project, alice, bob, settings):
    settings.QUEUE_SNAPSHOT_MIN_JOBS = 5
    for i in range(10):
        make_job(project, alice, name=f"a-{i}.wav", queued_ago=1000 - i)
    client = login(bob)
    assert "Nothing is queued or running." in client.get("/queue/").content.decode()
    login(alice).get("/queue/")  # the schedule is worked out and shared now
    bobs = make_job(project, bob, name="one.wav")
    page = client.get("/queue/").content.decode()
    # Fair share puts Bob's one file ahead of Alice's later ones: place 2, straight away.
    assert active_rows(page) == [str(bobs.pk)]
    assert 'title="Position in the queue">#2<' in page
