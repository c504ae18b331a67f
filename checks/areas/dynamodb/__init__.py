"""DynamoDB checks DDB-01..06: tables, indexes, PITR, AWS Backup, tags and access."""

from checks.areas.dynamodb import reads
from checks.core.area import Area

AREA = Area(name="dynamodb", label="DynamoDB", prefixes=("DDB",), order=1,
            markers={"dynamodb": "DynamoDB checks"}, reads=reads.READS, faults="checks.areas.dynamodb.faults")
