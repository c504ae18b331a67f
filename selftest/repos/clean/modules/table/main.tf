variable "name" {
  type = string
}

variable "sort_key" {
  type    = string
  default = "SK"
}

resource "aws_dynamodb_table" "this" {
  name         = var.name
  billing_mode = "PAY_PER_REQUEST"
  hash_key     = "PK"
  range_key    = var.sort_key

  attribute {
    name = "PK"
    type = "S"
  }

  attribute {
    name = "SK"
    type = "S"
  }
}

output "name" {
  value = aws_dynamodb_table.this.name
}
