terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0"
    }
  }

  backend "s3" {
    bucket       = "acme-terraform-state"
    key          = "orders/terraform.tfstate"
    region       = "eu-west-1"
    use_lockfile = true
  }
}
