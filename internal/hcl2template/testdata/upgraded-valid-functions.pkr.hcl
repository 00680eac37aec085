# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.

variable "key" {
  type = string
  default = "${env("VULTR_API_KEY")}"
}

variable "name" {
  type = string
  default = "My App_v1"
}

source "vultr" "vultr" {
  api_key = "${var.key}"
  os_id = "2284"
  plan_id = "vc2-1c-1gb"
  region_id = "ewr"
  snapshot_description = "{{lower (user `name`)}} {{upper \"x\"}} {{replace_all \" \" \"-\" (user `name`)}} {{split \"a-b-c\" \"-\" 1}} {{clean_resource_name (user `name`)}} {{isotime \"2006\"}} {{timestamp}} {{build_name}}/{{build_type}}"
  ssh_username = "root"
}

build {
  sources = ["source.vultr.vultr"]
}
