"""The one input rule at every edge — web forms, API serializers and the
services behind both: text a person or client sends may not hold NUL or the
other control characters XML cannot carry (PostgreSQL refuses NUL, docx is
XML), and a whole number in a query string is ASCII digits only
("²".isdigit() is true, int("²") fails). Text a model wrote is cleaned
instead of refused: nobody can correct it at the source.
"""

from __future__ import annotations

import re

from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.errors import Invalid

# Not an XML 1.0 character (C0 controls but tab, LF and CR; U+FFFE, U+FFFF), plus DEL; and lone
# surrogates (a JSON body can carry them, UTF-8 cannot).
REFUSED_CLASS = "\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\ufffe\\uffff"
REFUSED_CHARACTERS = re.compile(f"[{REFUSED_CLASS}\\ud800-\\udfff]")
# The rule as a pattern, so the OpenAPI schema states it (schemathesis then respects it); without
# the surrogates, which the schema's regex engines cannot write and no generator sends.
TEXT_PATTERN = f"^[^{REFUSED_CLASS}]*$"

TEXT_MESSAGE = gettext_lazy("Remove the control characters (such as NUL) from this text; they cannot be stored.")


def text_refused(value: str) -> bool:
    return REFUSED_CHARACTERS.search(value) is not None


class TextValidator(RegexValidator):
    """Forms and API fields: a Django validator (DRF runs Django validators and shows their
    message); a regex one, so drf-spectacular writes TEXT_PATTERN into the schema."""

    def __call__(self, value: object) -> None:
        super().__call__(value)
        if text_refused(str(value)):
            raise ValidationError(self.message, code=self.code)


text_validator = TextValidator(TEXT_PATTERN, message=TEXT_MESSAGE, code="control_characters")


def text_check(value: str) -> str:
    """``value`` unchanged, or Invalid when it holds a refused character (for services)."""
    if text_refused(value):
        raise Invalid(TEXT_MESSAGE)
    return value


def text_clean(value: str) -> str:
    """Text a model (or a file) wrote, with the refused characters taken out."""
    return REFUSED_CHARACTERS.sub("", value) if value else value


def whole_number(value: object, *, name: str, minimum: int = 0, maximum: int | None = None) -> int | None:
    """A query parameter as a whole number written in ASCII digits, from
    ``minimum`` to ``maximum``; None when it is absent. Anything else (blank
    included) is Invalid with a message that names the parameter."""
    if value is None:
        return None
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or int(text) < minimum:
        raise Invalid(_("%(name)s must be a whole number from %(min)d.") % {"name": name, "min": minimum})
    if maximum is not None and int(text) > maximum:
        raise Invalid(_("%(name)s must be at most %(max)d.") % {"name": name, "max": maximum})
    return int(text)


class PasswordCharactersValidator:
    """AUTH_PASSWORD_VALIDATORS: the same rule for a new password (sign-up, change, reset)."""

    def validate(self, password: str, user: object = None) -> None:
        if text_refused(password):
            raise ValidationError(TEXT_MESSAGE, code="control_characters")

    def get_help_text(self) -> str:
        return _("Your password can’t contain control characters.")
