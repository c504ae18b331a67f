locals {
  tags = merge(var.tags, { Component = "dynamodb", BackupPolicy = var.backup_policy })
}

variable "deletion_protection" {
  type    = bool
  default = false
}

variable "backup_policy" {
  type    = string
  default = "daily"
}

resource "aws_dynamodb_table" "tenants" {
  name                        = "tenants"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "PK"
  range_key                   = "SK"
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "PK"
    type = "S"
  }
  attribute {
    name = "SK"
    type = "S"
  }
  attribute {
    name = "email"
    type = "S"
  }
  attribute {
    name = "status"
    type = "S"
  }
  attribute {
    name = "active"
    type = "S"
  }
  attribute {
    name = "dateCreated"
    type = "S"
  }

  global_secondary_index {
    name            = "EmailIndex"
    hash_key        = "email"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "TenantStatusIndex"
    hash_key        = "status"
    range_key       = "dateCreated"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "ActiveIndex"
    hash_key        = "active"
    range_key       = "dateCreated"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }

  dynamic "replica" {
    for_each = var.dr_region != "" ? [var.dr_region] : []
    content {
      region_name = replica.value
    }
  }

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_dynamodb_table" "products" {
  name                        = "products"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "PK"
  range_key                   = "SK"
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "PK"
    type = "S"
  }
  attribute {
    name = "SK"
    type = "S"
  }
  attribute {
    name = "active"
    type = "S"
  }
  attribute {
    name = "dateCreated"
    type = "S"
  }

  global_secondary_index {
    name            = "ProductActiveIndex"
    hash_key        = "active"
    range_key       = "dateCreated"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "ActiveIndex"
    hash_key        = "active"
    range_key       = "dateCreated"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }

  dynamic "replica" {
    for_each = var.dr_region != "" ? [var.dr_region] : []
    content {
      region_name = replica.value
    }
  }

  lifecycle {
    prevent_destroy = true
  }
}

resource "aws_dynamodb_table" "campaigns" {
  name                        = "campaigns"
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "PK"
  range_key                   = "SK"
  stream_enabled              = true
  stream_view_type            = "NEW_AND_OLD_IMAGES"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "PK"
    type = "S"
  }
  attribute {
    name = "SK"
    type = "S"
  }
  attribute {
    name = "active"
    type = "S"
  }
  attribute {
    name = "dateCreated"
    type = "S"
  }
  attribute {
    name = "fromDate"
    type = "S"
  }
  attribute {
    name = "productId"
    type = "S"
  }

  global_secondary_index {
    name            = "CampaignActiveIndex"
    hash_key        = "active"
    range_key       = "fromDate"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "CampaignProductIndex"
    hash_key        = "productId"
    range_key       = "fromDate"
    projection_type = "ALL"
  }
  global_secondary_index {
    name            = "ActiveIndex"
    hash_key        = "active"
    range_key       = "dateCreated"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }
  server_side_encryption {
    enabled = true
  }

  dynamic "replica" {
    for_each = var.dr_region != "" ? [var.dr_region] : []
    content {
      region_name = replica.value
    }
  }

  lifecycle {
    prevent_destroy = true
  }
}
