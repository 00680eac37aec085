# The template the example workflows build: an application image whose
# version and region come from the workflow (variables:), stamped so that
# keep-snapshots (with keep-snapshots-prefix) keeps the newest.
packer {
  required_plugins {
    vultr = {
      version = ">= 2.5.0"
      source  = "github.com/vultr/vultr"
    }
  }
}

variable "app_version" {
  type    = string
  default = "dev"
}

variable "region" {
  type    = string
  default = "ewr"
}

source "vultr" "app" {
  region_id            = var.region
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "app ${var.app_version} ${var.region}"
}

build {
  sources = ["source.vultr.app"]
  provisioner "shell" {
    inline = ["echo '${var.app_version}' > /etc/app-version"]
  }
}
