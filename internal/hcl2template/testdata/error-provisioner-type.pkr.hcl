source "vultr" "web" {
  region_id    = "ewr"
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}

build {
  sources = ["source.vultr.web"]

  provisioner "powershell" {
    playbook_file = "site.yml"
  }
}
