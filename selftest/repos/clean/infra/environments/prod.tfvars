env    = "prod"
region = "eu-west-1"
