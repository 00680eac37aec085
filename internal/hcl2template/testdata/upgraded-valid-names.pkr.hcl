# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.

variable "key" {
  type = string
  default = "${env("VULTR_API_KEY")}"
}

source "vultr" "vultr" {
  api_key = "${var.key}"
  os_name = "Ubuntu 24.04 LTS x64"
  plan_name = "1024 MB RAM,25 GB SSD,1.00 TB BW"
  region_name = "Chicago"
  ssh_username = "root"
}

build {
  sources = ["source.vultr.vultr"]
}
