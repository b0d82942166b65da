"""Helpers for running the portal as several worker "nodes" on one machine:
an S3-compatible server (moto's standalone server, in a process of its own
on a free port) and the environment of one node (its own DATA_DIR scratch
and NODE_NAME, the shared database, broker and bucket). Used by
tests/test_multinode.py and bench/nodes.py."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path

MOTO = """
import sys, time
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
server.start()
print(server.get_host_and_port()[1], flush=True)
while True:
    time.sleep(3600)
"""

# Never ask an instance-metadata service (169.254.169.254) for credentials or a region.
AWS_ENV = {"AWS_EC2_METADATA_DISABLED": "true", "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
           "AWS_DEFAULT_REGION": "us-east-1"}


@dataclass
class S3Server:
    proc: subprocess.Popen
    endpoint: str
    bucket: str

    @classmethod
    def start(cls, bucket: str | None = None) -> S3Server:
        proc = subprocess.Popen([sys.executable, "-c", MOTO], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                                env={**os.environ, **AWS_ENV}, start_new_session=True, text=True)
        port = int(proc.stdout.readline().strip())  # type: ignore[union-attr]
        server = cls(proc=proc, endpoint=f"http://127.0.0.1:{port}", bucket=bucket or f"portal-{uuid.uuid4().hex[:12]}")
        server.client().create_bucket(Bucket=server.bucket)
        return server

    def client(self):  # noqa: ANN201 - a boto3 client
        import boto3

        return boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1",
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def env(self) -> dict[str, str]:
        """The portal's settings for this bucket, as environment variables."""
        return {**AWS_ENV, "S3_BUCKET": self.bucket, "S3_ENDPOINT_URL": self.endpoint, "S3_REGION": "us-east-1",
                "S3_ACCESS_KEY": "testing", "S3_SECRET_KEY": "testing"}

    def storage_settings(self) -> dict:
        """settings.STORAGES["default"] for a process that is already running (the test's own)."""
        return {"BACKEND": "storages.backends.s3.S3Storage", "OPTIONS": {
            "bucket_name": self.bucket, "endpoint_url": self.endpoint, "region_name": "us-east-1",
            "access_key": "testing", "secret_key": "testing", "default_acl": "private",
            "querystring_auth": True, "querystring_expire": 600, "file_overwrite": False}}

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait()


def node_env(base: dict[str, str], *, name: str, data_dir: Path, s3: S3Server, cluster: str) -> dict[str, str]:
    """One node: its own scratch (DATA_DIR) and name, the shared database, broker queue and bucket."""
    data_dir.mkdir(parents=True, exist_ok=True)
    return {**base, **s3.env(), "DATA_DIR": str(data_dir), "NODE_NAME": name, "Q_CLUSTER_NAME": cluster,
            "ASR_WORKERS": "1", "JOB_HEARTBEAT_SECONDS": "1", "JOB_STALE_SECONDS": "5", "ASR_BATCH_JOBS": "8",
            "LOG_LEVEL": "INFO"}


def files_under(directory: Path) -> list[str]:
    return sorted(str(p.relative_to(directory)) for p in directory.rglob("*") if p.is_file())
