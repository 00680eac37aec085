# The marketplace pattern: upload a helper-scripts folder, run it, then a
# cleanup that wipes logs and history before the snapshot.
source "vultr" "market" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "marketplace"
}

build {
  sources = ["source.vultr.market"]
  provisioner "file" {
    source      = "helper-scripts"
    destination = "/root/"
  }
  provisioner "shell" {
    scripts = ["helper-scripts/install.sh", "helper-scripts/cleanup.sh"]
  }
}
