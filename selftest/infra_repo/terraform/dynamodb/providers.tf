provider "aws" {
  region = var.region

  default_tags {
    tags = local.tags
  }
}

provider "aws" {
  alias  = "dr"
  region = var.dr_region != "" ? var.dr_region : var.region

  default_tags {
    tags = local.tags
  }
}
