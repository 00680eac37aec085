# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.

variable "key" {
  type = string
  default = "${env("VULTR_API_KEY")}"
}

source "vultr" "vultr" {
  api_key = "${var.key}"
  plan_id = "vc2-1c-1gb"
  region_id = "ewr"
  snapshot_id = "0b5a3c1e-1111-4222-8333-444455556666"
  ssh_password = "s3cret-pass"
  ssh_username = "root"
}

build {
  sources = ["source.vultr.vultr"]
}
