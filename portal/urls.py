from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from portal import sign_in, views, views_audit, views_email, views_invitations
from portal.health import healthz

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("accounts/password_reset/", sign_in.PasswordResetView.as_view(), name="password_reset"),
    path("accounts/password_change/", auth_views.PasswordChangeView.as_view(form_class=sign_in.PasswordChangeForm),
         name="password_change"),
    path("accounts/reset/<uidb64>/<token>/",
         auth_views.PasswordResetConfirmView.as_view(form_class=sign_in.SetPasswordForm),
         name="password_reset_confirm"),
    path("accounts/logout/", sign_in.LogoutView.as_view(), name="logout"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("settings/", views.preferences, name="preferences"),
    path("settings/email/", views_email.email_change, name="email_change"),
    path("settings/email/confirm/<str:token>/", views_email.email_confirm, name="email_confirm"),
    path("teams/new/", views.team_create, name="team_create"),
    path("teams/<str:team_id>/", views.team_detail, name="team"),
    path("teams/<str:team_id>/rename/", views.team_rename, name="team_rename"),
    path("teams/<str:team_id>/settings/", views.team_settings, name="team_settings"),
    path("teams/<str:team_id>/audit/", views_audit.team_audit, name="team_audit"),
    path("teams/<str:team_id>/members/add/", views.member_add, name="member_add"),
    path("teams/<str:team_id>/members/role/", views.member_role, name="member_role"),
    path("teams/<str:team_id>/members/remove/", views.member_remove, name="member_remove"),
    path("teams/<str:team_id>/invitations/", views_invitations.invitation_create, name="invitation_create"),
    path("teams/<str:team_id>/invitations/<str:invitation_id>/revoke/", views_invitations.invitation_revoke,
         name="invitation_revoke"),
    path("teams/<str:team_id>/join/<str:token>/", views_invitations.invitation_accept, name="invitation_accept"),
    path("teams/<str:team_id>/projects/new/", views.project_create, name="project_create"),
    path("projects/<str:project_id>/edit/", views.project_edit, name="project_edit"),
    path("projects/<str:project_id>/delete/", views.project_delete, name="project_delete"),
    path("", include("transcription.urls")),
    path("healthz", healthz, name="healthz"),
    path("api/", include("api.urls")),
    path("settings/tokens/", include("api.token_urls")),
    path("admin/", admin.site.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]

handler400 = "portal.error_views.bad_request"
handler403 = "portal.error_views.permission_denied"
handler404 = "portal.error_views.page_not_found"
handler500 = "portal.error_views.server_error"
