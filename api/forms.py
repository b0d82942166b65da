from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.forms import Form


class TokenForm(Form):
    name = forms.CharField(
        label=_("Token name"), max_length=100,
        help_text=_("What the token is for, e.g. the script or machine that uses it."),
    )
