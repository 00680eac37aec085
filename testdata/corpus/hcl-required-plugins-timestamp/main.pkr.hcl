packer {
  required_version = ">= 1.9.0"
  required_plugins {
    vultr = {
      version = ">= 2.5.0"
      source  = "github.com/vultr/vultr"
    }
  }
}

locals {
  stamp = formatdate("YYYY-MM-DD", timestamp())
}

source "vultr" "stamped" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  # hcl2_upgrade leaves Packer's old functions inside HCL strings.
  snapshot_description = "app {{timestamp}} ${local.stamp}"
}

build {
  sources = ["source.vultr.stamped"]
  provisioner "shell" {
    inline = ["echo '${length(local.stamp)}' > /root/stamp-length.txt"]
  }
}
