from django.db import migrations


def rewrite_digits(apps, schema_editor):
    """Digits stored before issue 23 could be corrupt (三月五日下午三点半 was kept as
    "03/0下午53:30"): each segment the model wrote gets them again. A person's edit
    (``verbatim``) is theirs and stays."""
    from transcription.numbers import has_numerals, to_digits

    Segment = apps.get_model("transcription", "Segment")
    changed = []
    segments = Segment.objects.filter(verbatim=False).only("pk", "text", "text_itn")
    for segment in segments.iterator(chunk_size=2000):
        digits = to_digits(segment.text) if has_numerals(segment.text) else segment.text
        if digits != segment.text_itn:  # only what differs is held and written
            segment.text_itn = digits
            changed.append(segment)
    Segment.objects.bulk_update(changed, ["text_itn"], batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ("transcription", "0009_transcript_submitted_by_reviewer"),
    ]

    operations = [
        migrations.RunPython(rewrite_digits, migrations.RunPython.noop),
    ]
