# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.

variable "key" {
  type = string
  default = "${env("VULTR_API_KEY")}"
}

source "vultr" "vultr" {
  api_key = "${var.key}"
  os_id = "2284"
  plan_id = "vc2-1c-1gb"
  region_id = "ewr"
  snapshot_description = "web"
  ssh_username = "root"
}

build {
  sources = ["source.vultr.vultr"]
}
