"""DynamoDB checks DDB-01..06: tables, indexes, PITR, AWS Backup, tags and access."""
