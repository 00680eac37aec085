# A null source beside the cloud one, as HashiCorp's tutorials use it: a
# local step runs once, here, while the vultr build makes the image. The
# sleep provisioner waits between steps, and continue_on_error lets the
# build go on past a step that is allowed to fail.
variable "app" {
  type    = string
  default = "corpus-null"
}

locals {
  marker = "${var.app}-${upper("ok")}"
}

source "null" "local" {
  communicator = "none"
}

source "vultr" "web" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = local.marker
}

build {
  sources = ["source.null.local", "source.vultr.web"]

  provisioner "shell-local" {
    name   = "mark the checkout"
    only   = ["null.local"]
    inline = ["echo ${local.marker} > null-ran.txt"]
  }

  provisioner "shell" {
    only   = ["vultr.web"]
    inline = ["echo web > /root/web.txt"]
  }

  provisioner "sleep" {
    duration = "200ms"
  }

  provisioner "shell" {
    only              = ["vultr.web"]
    continue_on_error = true
    inline            = ["echo tried > /root/tried.txt", "exit 3"]
  }

  provisioner "shell" {
    only   = ["vultr.web"]
    inline = ["echo after > /root/after.txt"]
  }
}
