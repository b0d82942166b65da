"""Re-clustering a transcript's speakers with another count, from the speaker
embeddings stored when it was transcribed: no audio, no ASR, only clustering.

The request is the user's action (checked and audited here, on the web path);
a worker applies it (`speakers_recluster_apply`), because clustering runs in
the engine's modules, which import torch.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.actor import Actor
from portal.errors import Invalid
from portal.models import AuditAction
from portal.services.audit import audit_record
from transcription.asr import speakers as asr_speakers
from transcription.asr.results import SpeakerVectors
from transcription.models import Segment, SpeakerEmbeddings, Transcript
from transcription.services.job_options import SPEAKER_CHOICES, speakers_parse
from transcription.services.review import TranscriptLocked, transcript_speakers
from transcription.services.wakeups import task_enqueue

RECLUSTER_TASK = "transcription.tasks.recluster_speakers"
SPEAKER_COLOURS = 8  # the .spk-0 … .spk-7 swatches in transcript.css


def speaker_colours(*, transcript: Transcript) -> dict[str, int]:
    """Engine label -> colour number, in order of first appearance."""
    labels = [label for label, _name in transcript_speakers(transcript=transcript)]
    return {label: n % SPEAKER_COLOURS for n, label in enumerate(labels)}


def speakers_panel(*, transcript: Transcript, colours: dict[str, int] | None = None) -> dict[str, Any]:
    """What the Speakers card shows: each speaker with name and colour, and
    whether (and how) they can be re-clustered."""
    colours = colours if colours is not None else speaker_colours(transcript=transcript)
    stored = speakers_embeddings(transcript=transcript)
    return {
        "speakers": [(label, transcript.speaker_label(label), colours[label]) for label in colours],
        "recluster": stored,
        "recluster_choices": [(value, label) for value, label in SPEAKER_CHOICES if value != "off"],
    }


def speakers_embeddings(*, transcript: Transcript) -> SpeakerEmbeddings | None:
    return SpeakerEmbeddings.objects.filter(transcript=transcript).defer("vectors").first()


def speakers_recluster_request(*, actor: Actor, transcript: Transcript, speakers: str) -> SpeakerEmbeddings:
    """Ask a worker to label this transcript's speakers again, with ``speakers``
    ("auto" or "2".."10"). The labels change when the worker is done (seconds)."""
    count = speakers_parse(speakers)
    if count == "off":
        raise Invalid(_("Choose a number of speakers or “Detect automatically”."))
    if transcript.is_approved:
        raise TranscriptLocked()
    with transaction.atomic():
        stored = SpeakerEmbeddings.objects.select_for_update().filter(transcript=transcript).first()
        if stored is None:
            raise Invalid(_("This transcript was made without speaker detection, so its speakers cannot be "
                            "re-clustered; transcribe the file again with speakers on."))
        stored.requested, stored.requested_at = count, timezone.now()
        stored.save(update_fields=["requested", "requested_at"])
        audit_record(actor=actor, action=AuditAction.SPEAKERS_RECLUSTER, team=transcript.job.project.team,
                     obj=transcript, detail={"from": stored.speakers, "to": count})
        transaction.on_commit(lambda: task_enqueue(RECLUSTER_TASK, str(transcript.pk), task_name="recluster",
                                                   group="speakers"), robust=True)
    return stored


def _name_map(pairs: dict[tuple[str, str], float], names: dict[str, str]) -> dict[str, str]:
    """New label -> display name: a new cluster takes the name of the renamed
    old speaker it overlaps most (each old name goes to one new cluster)."""
    result: dict[str, str] = {}
    used: set[str] = set()
    for (new, previous), _seconds in sorted(pairs.items(), key=lambda kv: -kv[1]):
        if new in result or previous in used or previous not in names:
            continue
        result[new] = names[previous]
        used.add(previous)
    return result


def speakers_recluster_apply(*, transcript_id: Any) -> int:
    """Run a requested re-clustering; returns the number of speakers found
    (0 when nothing was pending). Renamed speakers keep their names where a
    new cluster maps onto them."""
    with transaction.atomic():
        stored = (SpeakerEmbeddings.objects.select_for_update().select_related("transcript")
                  .filter(transcript_id=transcript_id).exclude(requested="").first())
        if stored is None:
            return 0
        transcript = stored.transcript
        segments = list(Segment.objects.filter(transcript=transcript).order_by("index"))
        sentences = [{"start": s.start * 1000, "end": s.end * 1000} for s in segments]
        found = SpeakerVectors.from_bytes(stored.chunks, stored.dim, stored.vectors)
        count = stored.requested
        asr_speakers.label(sentences, found, count=int(count) if count.isdigit() else None)
        pairs: dict[tuple[str, str], float] = defaultdict(float)
        for segment, sentence in zip(segments, sentences, strict=True):
            seconds = max(segment.end - segment.start, 0.001)
            pairs[(sentence["speaker"], segment.speaker)] += seconds
            segment.speaker = sentence["speaker"]
        Segment.objects.bulk_update(segments, ["speaker"], batch_size=500)
        transcript.speaker_names = _name_map(pairs, dict(transcript.speaker_names or {}))
        transcript.save(update_fields=["speaker_names", "updated_at"])
        stored.speakers, stored.requested, stored.requested_at = count, "", None
        stored.save(update_fields=["speakers", "requested", "requested_at"])
    return len({s["speaker"] for s in sentences})
