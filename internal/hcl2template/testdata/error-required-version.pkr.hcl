packer {
  required_version = ">= 2.0.0"
}

source "vultr" "app" {
  region_id    = "ewr"
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}

build {
  sources = ["source.vultr.app"]
}
