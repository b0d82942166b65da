from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("transcription", "0005_upload_rejections_export_downloaded"),
    ]

    operations = [
        migrations.AddField(
            model_name="job",
            name="not_set_up",
            field=models.BooleanField(default=False),
        ),
    ]
