"""/settings/tokens/: the user's API tokens."""

from django.urls import path

from api import token_views

urlpatterns = [
    path("", token_views.tokens, name="api_tokens"),
    path("<int:token_id>/revoke/", token_views.token_delete, name="api_token_revoke"),
]
