source "vultr" "typed" {
  api_key              = var.api_key
  region_id            = var.image.region
  plan_id              = var.image.plan
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "${var.image.name}-${local.stamp}"
  tags                 = local.all_tags
}

build {
  sources = ["source.vultr.typed"]
  provisioner "shell" {
    inline = [
      "echo '${join(",", var.packages)}' > /root/packages.txt",
      "echo '${join(",", local.all_tags)}' > /root/tags.txt",
      "echo '${jsonencode(local.settings)}' > /root/settings.json",
      "echo '${var.image.name}' > /root/name.txt",
    ]
  }
}
