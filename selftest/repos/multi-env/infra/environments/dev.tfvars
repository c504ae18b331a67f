env    = "dev"
region = "eu-west-1"
