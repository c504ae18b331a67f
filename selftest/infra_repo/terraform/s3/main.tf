locals {
  tags        = merge(var.tags, { Component = "s3" })
  bucket_name = "bbws-templates-${var.environment}"
}

variable "noncurrent_days" {
  type = number
}

variable "logging_bucket" {
  type    = string
  default = ""
}

data "aws_caller_identity" "current" {}

resource "aws_s3_bucket" "templates" {
  bucket        = local.bucket_name
  force_destroy = false

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_s3_bucket_versioning" "templates" {
  bucket = aws_s3_bucket.templates.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "templates" {
  bucket = aws_s3_bucket.templates.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_public_access_block" "templates" {
  bucket                  = aws_s3_bucket.templates.id
  block_public_acls       = true
  ignore_public_acls      = true
  block_public_policy     = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_lifecycle_configuration" "templates" {
  bucket = aws_s3_bucket.templates.id
  rule {
    id     = "delete-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_days
    }
  }
}

resource "aws_s3_bucket_logging" "templates" {
  count         = var.logging_bucket != "" ? 1 : 0
  bucket        = aws_s3_bucket.templates.id
  target_bucket = var.logging_bucket
  target_prefix = "s3/${local.bucket_name}/"
}

resource "aws_s3_bucket_policy" "templates" {
  bucket = aws_s3_bucket.templates.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Sid       = "DenyInsecureTransport"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.templates.arn, "${aws_s3_bucket.templates.arn}/*"]
        Condition = { Bool = { "aws:SecureTransport" = "false" } }
      },
      {
        Sid       = "DenyPublicAccess"
        Effect    = "Deny"
        Principal = "*"
        Action    = "s3:PutBucketPublicAccessBlock"
        Resource  = aws_s3_bucket.templates.arn
        Condition = { StringNotEquals = { "aws:PrincipalAccount" = data.aws_caller_identity.current.account_id } }
      },
      {
        Sid       = "AllowLambdaReadTemplates"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:role/bbws-app-lambda-${var.environment}" }
        Action    = "s3:GetObject"
        Resource  = "${aws_s3_bucket.templates.arn}/*"
      },
      {
        Sid       = "AllowTerraformManagement"
        Effect    = "Allow"
        Principal = { AWS = "arn:aws:iam::${data.aws_caller_identity.current.account_id}:root" }
        Action    = "s3:*"
        Resource  = [aws_s3_bucket.templates.arn, "${aws_s3_bucket.templates.arn}/*"]
      },
    ]
  })
}
