"""S3 checks S3-01..06: the templates bucket, its security, versioning, templates, replication, encryption."""
