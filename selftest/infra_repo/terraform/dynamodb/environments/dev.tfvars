environment         = "dev"
region              = "eu-west-1"
dr_region           = ""
deletion_protection = false
backup_policy       = "daily"
tags = {
  Environment = "dev"
  Project     = "BBWS WP Containers"
  Owner       = "Tebogo"
  CostCenter  = "AWS"
  ManagedBy   = "Terraform"
}
