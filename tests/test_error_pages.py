"""What a person sees with DEBUG off (as `make run` runs now): the site's own 404, 403 and 500
pages, never Django's debug page with the URL patterns; a favicon; the configured SITE_NAME."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.test import Client, RequestFactory, override_settings

from portal.error_views import server_error
from portal.models import Profile
from tests.api_support import make_job
from tests.conftest import login
from transcription.job_states import JobStatus
from transcription.services.notifications import job_email_finished

pytestmark = pytest.mark.django_db


def test_a_missing_page_is_the_sites_404_without_url_patterns(settings, alice):
    settings.DEBUG = False
    for client in (Client(), login(alice)):
        r = client.get("/no-such-page/")
        html = r.content.decode()
        assert r.status_code == 404
        assert "Page not found" in html and "Go to the dashboard" in html
        assert "pico.min.css" in html  # the site's own layout
        for leak in ("URLconf", "admin/", "healthz", "Using the URLconf", "Django tried these URL patterns"):
            assert leak not in html, leak


def test_an_ops_page_is_a_plain_404_for_a_member(settings, alice):
    settings.DEBUG = False
    r = login(alice).get("/ops/")
    assert r.status_code == 404 and "Page not found" in r.content.decode()
    assert "ops_panel" not in r.content.decode()


def test_a_viewer_writing_gets_the_sites_403_with_the_reason(team, project, bob):
    r = login(bob).post(f"/projects/{project.pk}/edit/", {"name": "Renamed"})
    html = r.content.decode()
    assert r.status_code == 403
    assert "Not allowed" in html and "Only team owners and admins can do this." in html
    assert "pico.min.css" in html


def test_a_server_error_is_the_sites_500_page():
    r = server_error(RequestFactory().get("/"))
    html = r.content.decode()
    assert r.status_code == 500
    assert "Something went wrong" in html and "Transcription portal" in html and "Traceback" not in html


def test_every_page_links_the_favicon_and_whitenoise_serves_it(settings, tmp_path):
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in Client().get(
        "/accounts/login/").content.decode()
    with override_settings(STATIC_ROOT=tmp_path):
        call_command("collectstatic", "--noinput", verbosity=0)
        r = Client().get("/static/favicon.svg")  # a new client: whitenoise reads STATIC_ROOT as it starts
        assert r.status_code == 200
        assert r["Content-Type"].startswith("image/svg+xml")
        assert b"<svg" in b"".join(r.streaming_content)


def test_site_name_is_in_the_title_and_the_header(settings, alice):
    settings.SITE_NAME = "Acme Minutes"
    html = login(alice).get("/").content.decode()
    assert "<title>Dashboard · Acme Minutes</title>" in html
    assert '<strong>Acme Minutes</strong>' in html
    assert "Transcription portal" not in html
    r = Client().get("/no-such-page/")
    assert "Acme Minutes" in r.content.decode()


def test_without_site_name_the_portal_name_follows_the_language():
    html = Client().get("/accounts/login/", HTTP_ACCEPT_LANGUAGE="zh-Hans").content.decode()
    assert "Transcription portal" not in html


def test_site_name_signs_the_emails(settings, project, alice, mailoutbox):
    settings.SITE_NAME = "Acme Minutes"
    Profile.objects.update_or_create(user=alice, defaults={"email_on_finish": True})
    job = make_job(project, alice, status=JobStatus.FAILED)
    assert job_email_finished(job=job)
    assert mailoutbox[0].body.rstrip().endswith("Acme Minutes")
