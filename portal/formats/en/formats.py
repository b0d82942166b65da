# One way to write a moment on every page, tables and detail pages alike (24-hour clock: no "a.m."
# to collide with a sentence's full stop). Shown in the user's time zone (portal.middleware).
DATE_FORMAT = "j M Y"
SHORT_DATE_FORMAT = "j M Y"
DATETIME_FORMAT = "j M Y, H:i"
SHORT_DATETIME_FORMAT = "j M Y, H:i"
TIME_FORMAT = "H:i"
