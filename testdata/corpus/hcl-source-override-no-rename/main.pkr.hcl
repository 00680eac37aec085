# A build block overrides a source's keys without renaming it.
source "vultr" "app" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "base description"
}

build {
  source "source.vultr.app" {
    snapshot_description = "overridden description"
    instance_label       = "override-label"
  }
  provisioner "shell" {
    inline = ["echo '${source.name}' > /root/name.txt"]
  }
}
