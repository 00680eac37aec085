variable "port" {
  type    = number
  default = 8443
}

source "vultr" "content" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "content"
}

build {
  sources = ["source.vultr.content"]
  provisioner "file" {
    content     = templatefile("${path.root}/templates/app.conf.pkrtpl.hcl", { port = var.port, hosts = ["a", "b"] })
    destination = "/root/app.conf"
  }
  provisioner "file" {
    content     = "plain content\n"
    destination = "/root/plain.txt"
  }
}
