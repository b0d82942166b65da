from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("transcription", "0004_options_itn_words_speakers"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="not_set_up",
            field=models.BooleanField(default=False),
        ),
    ]
