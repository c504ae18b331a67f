environment         = "prod"
region              = "af-south-1"
dr_region           = "eu-west-1"
deletion_protection = true
backup_policy       = "hourly"
tags = {
  Environment = "prod"
  Project     = "BBWS WP Containers"
  Owner       = "Tebogo"
  CostCenter  = "AWS"
  ManagedBy   = "Terraform"
  DR          = "enabled"
}
