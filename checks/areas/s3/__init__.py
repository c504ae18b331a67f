"""S3 checks S3-01..06: the templates bucket, its security, versioning, templates, replication, encryption."""

from checks.areas.s3 import reads
from checks.core.area import Area

AREA = Area(name="s3", label="S3", prefixes=("S3",), order=2, markers={"s3": "S3 checks"},
            reads=reads.READS, faults="checks.areas.s3.faults")
