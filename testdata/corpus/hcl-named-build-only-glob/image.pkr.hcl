# A named build block with three sources; the run is filtered with
# Packer's glob on the full name, and a post-processor names one build.
source "vultr" "app" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "app"
}

source "vultr" "worker" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "worker"
}

source "vultr" "cache" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "cache"
}

build {
  name    = "images"
  sources = ["source.vultr.app", "source.vultr.worker", "source.vultr.cache"]

  provisioner "shell" {
    inline = ["echo ${build.name} > /root/build-name.txt", "echo ${source.name} > /root/who.txt"]
  }
  provisioner "shell" {
    only   = ["vultr.worker"]
    inline = ["touch /root/worker-only"]
  }
}
