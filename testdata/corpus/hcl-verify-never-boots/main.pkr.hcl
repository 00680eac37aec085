# A snapshot whose first boot never brings SSH up: the check gives up at
# its timeout, deletes the snapshot, destroys its instance and fails.
source "vultr" "web" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "corpus verify never boots"
}

build {
  sources = ["source.vultr.web"]

  provisioner "shell" {
    inline = ["echo built > /root/built.txt"]
  }

  post-processor "vultr-verify" {
    timeout = "6s"
    inline  = ["true"]
  }
}
