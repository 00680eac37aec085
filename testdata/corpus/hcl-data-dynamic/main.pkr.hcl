# Data sources feed locals; dynamic blocks make one provisioner per item;
# hcp_packer_registry is accepted (with a warning: nothing is published).
variable "release_url" {
  type    = string
  default = env("CORPUS_HTTP")
}

data "http" "release" {
  url = "${var.release_url}/release.json"
  request_headers = {
    Accept = "application/json"
  }
}

data "null" "channel" {
  input = "stable-${local.release.version}"
}

locals {
  release = jsondecode(data.http.release.body)
  files = {
    version = local.release.version
    channel = data.null.channel.output
  }
}

source "vultr" "data" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "app ${local.release.version}"
}

build {
  hcp_packer_registry {
    bucket_name = "app"
  }
  sources = ["source.vultr.data"]

  dynamic "provisioner" {
    for_each = local.files
    labels   = ["shell"]
    content {
      inline = ["echo '${provisioner.value}' > /root/${provisioner.key}.txt"]
    }
  }
  provisioner "shell" {
    inline = ["echo '${join(" ", local.release.packages)}' > /root/packages.txt"]
  }
}
