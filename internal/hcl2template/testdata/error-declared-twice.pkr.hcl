# A source or a local declared twice is an error, as in Packer: the second
# would otherwise replace the first without a word.
locals {
  region = "ewr"
}

locals {
  region = "ord"
}

source "vultr" "web" {
  region_id    = local.region
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}

source "vultr" "web" {
  region_id    = "sjc"
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}

build {
  sources = ["source.vultr.web"]
}
