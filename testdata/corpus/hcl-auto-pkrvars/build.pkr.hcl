source "vultr" "auto" {
  region_id            = var.region
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "auto vars"
}

build {
  sources = ["source.vultr.auto"]
  provisioner "shell" {
    inline = ["echo '${var.owner} ${var.region}' > /root/owner.txt"]
  }
}
