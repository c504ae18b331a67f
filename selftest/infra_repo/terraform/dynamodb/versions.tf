terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  # Partial configuration: bucket, dynamodb_table and region come from
  # `terraform init -backend-config=...` in the deploy workflows (one state bucket per env).
  backend "s3" {
    key     = "2_1_bbws_dynamodb_schemas/terraform.tfstate"
    encrypt = true
  }
}
