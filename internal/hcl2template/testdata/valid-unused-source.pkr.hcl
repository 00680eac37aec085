# A source that no build block builds is a warning: Packer says nothing,
# and a typo in a sources list would go unnoticed.
source "vultr" "web" {
  region_id    = "ewr"
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}

source "vultr" "db" {
  region_id    = "ewr"
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}

build {
  sources = ["source.vultr.web"]
}
