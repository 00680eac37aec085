# A provisioner filter that names no build would drop it silently.
source "vultr" "base" {
  region_id    = "ewr"
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}

build {
  source "source.vultr.base" {
    name = "web"
  }
  provisioner "shell" {
    only   = ["vultr.base"]
    inline = ["echo renamed away"]
  }
  post-processor "manifest" {
    except = ["vultr.wbe"]
  }
}
