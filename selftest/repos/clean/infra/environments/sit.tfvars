env    = "sit"
region = "eu-west-1"
