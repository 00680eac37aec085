# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.

variable "vultr_api_key" {
  type = string
  default = "${env("VULTR_API_KEY")}"
}

source "vultr" "vultr" {
  api_key = "${var.vultr_api_key}"
  os_id = "167"
  plan_id = "201"
  region_id = "2"
  snapshot_description = "My Awesome App"
  ssh_username = "root"
}

build {
  sources = ["source.vultr.vultr"]
}
