# Cross-region replication of the templates bucket (S3-05), in envs with a DR region.

resource "aws_s3_bucket" "dr" {
  count         = var.dr_region != "" ? 1 : 0
  provider      = aws.dr
  bucket        = "${local.bucket_name}-dr-${var.dr_region}"
  force_destroy = false

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "dr" {
  count    = var.dr_region != "" ? 1 : 0
  provider = aws.dr
  bucket   = aws_s3_bucket.dr[0].id
  versioning_configuration {
    status = "Enabled"
  }
}

data "aws_iam_policy_document" "replication_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["s3.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "replication" {
  count              = var.dr_region != "" ? 1 : 0
  name               = "bbws-s3-replication-role-${var.environment}"
  assume_role_policy = data.aws_iam_policy_document.replication_assume.json
}

resource "aws_s3_bucket_replication_configuration" "templates" {
  count      = var.dr_region != "" ? 1 : 0
  depends_on = [aws_s3_bucket_versioning.templates, aws_s3_bucket_versioning.dr]
  bucket     = aws_s3_bucket.templates.id
  role       = aws_iam_role.replication[0].arn

  rule {
    id     = "replicate-all-to-${var.dr_region}"
    status = "Enabled"
    filter {}

    delete_marker_replication {
      status = "Enabled"
    }

    destination {
      bucket = aws_s3_bucket.dr[0].arn
      replication_time {
        status = "Enabled"
        time {
          minutes = 15
        }
      }
      metrics {
        status = "Enabled"
        event_threshold {
          minutes = 15
        }
      }
    }
  }
}
