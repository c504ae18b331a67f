variable "environment" {
  description = "dev, sit, prod or local"
  type        = string

  validation {
    condition     = contains(["dev", "sit", "prod", "local"], var.environment)
    error_message = "environment must be one of dev, sit, prod, local."
  }
}

variable "region" {
  description = "Primary region"
  type        = string
}

variable "dr_region" {
  description = "DR region; empty when the env has none"
  type        = string
  default     = ""
}

variable "tags" {
  description = "Mandatory tags (Environment, Project, Owner, CostCenter, ManagedBy)"
  type        = map(string)
}
