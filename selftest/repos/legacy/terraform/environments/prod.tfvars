env   = "prod"
owner = "platform"
