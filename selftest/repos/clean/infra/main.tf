provider "aws" {
  region = var.region
}

variable "region" {
  type = string
}

variable "env" {
  type = string
}

resource "aws_dynamodb_table" "tenants" {
  name         = "tenants-${var.env}"
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "PK"

  attribute {
    name = "PK"
    type = "S"
  }
}

resource "aws_s3_bucket" "templates" {
  bucket = "templates-${var.env}"
}

module "events" {
  source = "../modules/table"
  name   = "events-${var.env}"
}
