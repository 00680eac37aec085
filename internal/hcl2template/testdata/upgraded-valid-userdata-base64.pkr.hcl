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
  ssh_username = "root"
  userdata = "IyEvYmluL3NoCmVjaG8gaGkK"
}

build {
  sources = ["source.vultr.vultr"]
}
