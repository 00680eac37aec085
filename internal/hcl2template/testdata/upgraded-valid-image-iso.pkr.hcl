# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.

variable "key" {
  type = string
  default = "${env("VULTR_API_KEY")}"
}

source "vultr" "vultr" {
  api_key = "${var.key}"
  iso_id = "0b5a3c1e-6666-4222-8333-444455556666"
  plan_id = "vc2-1c-1gb"
  region_id = "ewr"
  ssh_password = "iso-root-password"
  ssh_username = "root"
}

build {
  sources = ["source.vultr.vultr"]
}
