"""Every moto workaround and extension the embedded world needs, one module per job.

The moto server runs in a thread of this process, so these patch moto's in-process classes:

    denygate       WSGI middleware answering AccessDenied for denied calls (denied: the error bodies)
    dynamodb       replicas, TableStatus and GSI Backfilling backdoors
    backup         backup selections and recovery points
    s3policy       bucket-policy conditions (policy: the matching shared with iam)
    s3replication  replication on a timer thread, replication status, GetBucketReplication
    s3versions     object versions while versioning is off: versionId=null, versioned deletes when suspended
    iam            SimulatePrincipalPolicy

Each patch module imports the moto modules it patches at its top, so that they share its
lifetime: pytester's in-process runs drop modules first imported during a run, and a patch
flag that outlived its (re-imported, unpatched) moto modules would leave moto unpatched.
`apply()` is idempotent; `reset()` clears the state kept here (deny rules, pending
replications) together with moto's own backends.
"""

from __future__ import annotations

import threading

from checks.world.patches import backup, denygate, dynamodb, iam, s3policy, s3replication, s3versions

_lock = threading.Lock()
_applied = False


def apply() -> None:
    """Install every patch once per process."""
    global _applied
    with _lock:
        if _applied:
            return
        dynamodb.patch()
        backup.patch()
        s3policy.patch()
        s3replication.patch()
        s3versions.patch()
        iam.patch()
        _applied = True


def reset() -> None:
    """Reset moto's backends and everything kept here."""
    from moto.moto_api._internal.models import moto_api_backend

    s3replication.reset()
    denygate.reset()
    moto_api_backend.reset()
