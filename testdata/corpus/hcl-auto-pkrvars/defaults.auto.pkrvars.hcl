region = "ewr"
owner  = "platform-team"
