source "vultr" "app" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "path-root"
}

build {
  sources = ["source.vultr.app"]
  provisioner "shell" {
    script = "${path.root}/scripts/setup.sh"
  }
  provisioner "file" {
    content     = templatefile("${path.root}/scripts/motd.tpl", { name = "path-root" })
    destination = "/root/motd"
  }
}
