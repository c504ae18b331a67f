environment     = "sit"
region          = "eu-west-1"
dr_region       = ""
noncurrent_days = 60
logging_bucket  = "bbws-logs-sit"
tags = {
  Environment = "sit"
  Project     = "BBWS WP Containers"
  Owner       = "Tebogo"
  CostCenter  = "AWS"
  ManagedBy   = "Terraform"
}
