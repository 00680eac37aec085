# Variables from HCL's JSON syntax: an auto-loaded .auto.pkrvars.json and a
# -var-file .pkrvars.json.
variable "region" {
  type = string
}
variable "tier" {
  type = string
}

source "vultr" "json_vars" {
  region_id            = var.region
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "json vars"
}

build {
  sources = ["source.vultr.json_vars"]
  provisioner "shell" {
    inline = ["echo '${var.region} ${var.tier}' > /root/vars.txt"]
  }
}
