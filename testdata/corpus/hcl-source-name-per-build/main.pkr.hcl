# Sources listed by reference; a local built with try() and a provisioner
# that renders per source; -only with a bare name.
locals {
  sizes = { small = "vc2-1c-1gb", large = "vc2-2c-4gb" }
  motd  = try(local.missing, "welcome")
}

source "vultr" "small" {
  region_id            = "ewr"
  plan_id              = local.sizes["small"]
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "small"
}

source "vultr" "large" {
  region_id            = "ewr"
  plan_id              = local.sizes["large"]
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "large"
}

build {
  sources = ["source.vultr.small", "source.vultr.large"]
  provisioner "shell" {
    inline = ["echo '${local.motd} to ${source.name}' > /etc/app-motd"]
  }
}
