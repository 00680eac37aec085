packer {
  required_version = ">= 1.7.0, < 2.0.0"
}

variable "env_name" {
  type    = string
  default = "staging"
  validation {
    condition     = contains(["staging", "production"], var.env_name)
    error_message = "env_name must be staging or production."
  }
}

source "vultr" "app" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "${source.name}-${var.env_name}"
  userdata             = templatefile("files/cloud-init.tpl", { env = var.env_name })
}

build {
  name    = "images"
  sources = ["source.vultr.app"]

  provisioner "shell" {
    inline = ["echo building ${source.name} for ${build.name}"]
  }
}
