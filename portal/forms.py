from __future__ import annotations

import zoneinfo

from django import forms
from django.utils.translation import gettext_lazy as _

from portal.models import Profile, Role
from portal.services.teams import hotwords_parse


class TeamForm(forms.Form):
    name = forms.CharField(label=_("Team name"), max_length=100)


class ProjectForm(forms.Form):
    name = forms.CharField(label=_("Project name"), max_length=100)
    hotwords = forms.CharField(
        label=_("Hotwords"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Names and terms the recogniser should favour, one per line."),
    )

    def clean_hotwords(self) -> list[str]:
        return hotwords_parse(text=self.cleaned_data.get("hotwords", ""))


class MemberAddForm(forms.Form):
    identifier = forms.CharField(label=_("Username or email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)


class MemberRoleForm(forms.Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)


class MemberRemoveForm(forms.Form):
    username = forms.CharField(max_length=150)


TIMEZONE_CHOICES = [("", _("Server default"))] + [
    (name, name) for name in sorted(zoneinfo.available_timezones())
]


class ProfileForm(forms.ModelForm):
    timezone = forms.ChoiceField(label=_("Time zone"), choices=TIMEZONE_CHOICES, required=False)

    class Meta:
        model = Profile
        fields = ["language", "timezone", "email_on_finish"]
