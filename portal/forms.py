from __future__ import annotations

import zoneinfo

from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from portal.errors import Invalid
from portal.inputs import text_validator
from portal.models import Profile, Role, Theme
from transcription.presets import presets_all, speakers_available
from transcription.services.itn import ITN_CHOICES
from transcription.services.job_options import SPEAKER_CHOICES, hotwords_parse, speakers_unavailable_reason


class TextRuleMixin:
    """The input rule (portal.inputs: no NUL or other control characters) on
    every text field of the form, shown as that field's error."""

    fields: dict[str, forms.Field]

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - Django's form signature
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            if isinstance(field, forms.CharField) and text_validator not in field.validators:
                field.validators.append(text_validator)


class Form(TextRuleMixin, forms.Form):
    """The site's forms: Django's, with the input rule."""


class TeamForm(Form):
    name = forms.CharField(label=_("Team name"), max_length=100)


class ProjectForm(Form):
    name = forms.CharField(label=_("Project name"), max_length=100)
    hotwords = forms.CharField(
        label=_("Hotwords"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Names and terms the recogniser should favour, one per line."),
    )

    preset = forms.ChoiceField(label=_("Model"), required=False,
                               help_text=_("Used for new uploads unless an upload chooses another."))
    speakers = forms.ChoiceField(label=_("Speakers"), choices=SPEAKER_CHOICES, initial="off", required=False)
    itn = forms.ChoiceField(label=_("Numbers as digits"), choices=ITN_CHOICES, initial="auto", required=False,
                            help_text=_("“二零二四年三月五日” reads “2024年3月5日” on the page, in search and in "
                                        "exports; what the model said is kept."))

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003 - Django's form signature
        super().__init__(*args, **kwargs)
        presets = list(presets_all())
        self.fields["preset"].choices = [(name, name) for name in presets]
        if len(presets) < 2:
            self.fields["preset"].widget = forms.HiddenInput()
        if not speakers_available():
            self.fields["speakers"].disabled = True
            self.fields["speakers"].help_text = speakers_unavailable_reason()

    def clean_hotwords(self) -> list[str]:
        try:
            return hotwords_parse(text=self.cleaned_data.get("hotwords", ""))
        except Invalid as exc:
            raise forms.ValidationError(exc.message) from None


class MemberAddForm(Form):
    identifier = forms.CharField(label=_("Username or email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)


class InvitationForm(Form):
    email = forms.EmailField(label=_("Email"), max_length=254)
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices, initial=Role.MEMBER)


class InvitationAcceptForm(Form):
    """A new person's account: the email comes from the invitation."""

    username = forms.CharField(label=_("Username"), max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password1 = forms.CharField(label=_("Password"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))
    password2 = forms.CharField(label=_("Password again"), strip=False,
                                widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))

    def clean(self) -> dict:
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ."))
        return data


class MemberRoleForm(Form):
    username = forms.CharField(max_length=150)
    role = forms.ChoiceField(choices=Role.choices)


class MemberRemoveForm(Form):
    username = forms.CharField(max_length=150)


# Current IANA names only (no "US/Eastern" or "Etc/GMT+3" aliases), grouped by region.
TIMEZONE_REGIONS = ("Africa", "America", "Antarctica", "Asia", "Atlantic", "Australia", "Europe", "Indian",
                    "Pacific")


def timezone_choices() -> list[tuple[str, object]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for name in sorted(zoneinfo.available_timezones()):
        region, _sep, place = name.partition("/")
        if region in TIMEZONE_REGIONS and place:
            groups.setdefault(region, []).append((name, place.replace("_", " ")))
    default = format_lazy(_("Server default ({zone})"), zone=settings.TIME_ZONE)
    return [("", default), ("UTC", "UTC"), *groups.items()]


def language_choices() -> list[tuple[str, object]]:
    default = dict(settings.LANGUAGES).get(settings.LANGUAGE_CODE, settings.LANGUAGE_CODE)
    return [("", format_lazy(_("Server default ({language})"), language=default)), *settings.LANGUAGES]


class ProfileForm(TextRuleMixin, forms.ModelForm):
    language = forms.ChoiceField(label=_("Language"), choices=language_choices, required=False)
    timezone = forms.ChoiceField(label=_("Time zone"), choices=timezone_choices, required=False,
                                 help_text=_("Type a city's name to find it in the list."))
    theme = forms.ChoiceField(label=_("Theme"), choices=Theme.choices, required=False, initial=Theme.SYSTEM,
                              help_text=_("System follows your device’s light or dark setting."))

    class Meta:
        model = Profile
        fields = ["language", "timezone", "theme", "email_on_finish"]

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        chosen = self.instance.timezone
        if chosen and chosen != "UTC" and chosen.partition("/")[0] not in TIMEZONE_REGIONS:
            # An older alias someone chose before the list was cleaned up keeps working.
            self.fields["timezone"].choices = [*self.fields["timezone"].choices, (chosen, chosen)]

    def clean_theme(self) -> str:
        return self.cleaned_data.get("theme") or Theme.SYSTEM
