environment     = "dev"
region          = "eu-west-1"
dr_region       = ""
noncurrent_days = 30
logging_bucket  = ""
tags = {
  Environment = "dev"
  Project     = "BBWS WP Containers"
  Owner       = "Tebogo"
  CostCenter  = "AWS"
  ManagedBy   = "Terraform"
}
