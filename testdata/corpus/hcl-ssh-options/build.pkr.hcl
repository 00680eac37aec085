# Communicator and shell-local options that must take effect: the
# temporary key leaves authorized_keys, commands run on a pseudo-terminal,
# and a shell-local step for another OS is skipped (it would fail here).
source "vultr" "cleared" {
  region_id                 = "ewr"
  plan_id                   = "vc2-1c-1gb"
  os_id                     = 2284
  ssh_username              = "root"
  snapshot_description      = "cleared"
  ssh_clear_authorized_keys = true
  ssh_pty                   = true
}

source "vultr" "kept" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "kept"
}

build {
  sources = ["source.vultr.cleared", "source.vultr.kept"]
  provisioner "shell" {
    inline = ["echo provisioned > /root/done.txt"]
  }
  provisioner "shell-local" {
    only_on = ["windows"]
    inline  = ["exit 1"]
  }
}
