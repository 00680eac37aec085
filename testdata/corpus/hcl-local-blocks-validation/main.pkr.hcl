variable "environment" {
  type    = string
  default = "staging"
  validation {
    condition     = contains(["staging", "production"], var.environment)
    error_message = "The environment must be staging or production."
  }
}

local "suffix" {
  expression = upper(substr(var.environment, 0, 4))
}

locals {
  label = "app-${local.suffix}"
  notes = local.label == "app-STAG" ? "staging build" : "other"
}

source "vultr" "validated" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = local.label
  instance_label       = local.label
}

build {
  sources = ["source.vultr.validated"]
  provisioner "shell" {
    inline = ["echo '${local.label} ${local.notes}' > /root/label.txt"]
  }
}
