# The seed article's era: numeric v1 IDs, unquoted, in HCL2.
source "vultr" "v1" {
  region_id            = 1
  plan_id              = 201
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "v1 ids"
}

build {
  sources = ["source.vultr.v1"]
  provisioner "shell" {
    inline = ["echo ok > /root/v1.txt"]
  }
}
