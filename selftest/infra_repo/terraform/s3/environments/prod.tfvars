environment     = "prod"
region          = "af-south-1"
dr_region       = "eu-west-1"
noncurrent_days = 90
logging_bucket  = "bbws-logs-prod"
tags = {
  Environment = "prod"
  Project     = "BBWS WP Containers"
  Owner       = "Tebogo"
  CostCenter  = "AWS"
  ManagedBy   = "Terraform"
  DR          = "enabled"
}
