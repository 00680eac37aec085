# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.

variable "key" {
  type = string
  default = "${env("VULTR_API_KEY")}"
}

source "vultr" "vultr" {
  api_key = "${var.key}"
  ipv6 = true
  label = "legacy label"
  os_id = "387"
  plan_id = "201"
  private_networking = true
  region_code = "EWR"
  ssh_username = "root"
  sshkey_id = "0b5a3c1e-2222-4222-8333-444455556666"
  startup_script_id = "0b5a3c1e-1111-4222-8333-444455556666"
  user_data = "#cloud-config\npackages: [nginx]\n"
}

build {
  sources = ["source.vultr.vultr"]
}
