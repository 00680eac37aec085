# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.

variable "key" {
  type = string
  default = "${env("VULTR_API_KEY")}"
}

source "vultr" "vultr" {
  api_key = "${var.key}"
  plan_name = "1024 MB RAM,25 GB SSD,1.00 TB BW"
  region_name = "New Jersey"
  snapshot_name = "base image"
  ssh_password = "legacy-root-password"
  ssh_username = "root"
}

build {
  sources = ["source.vultr.vultr"]
}
