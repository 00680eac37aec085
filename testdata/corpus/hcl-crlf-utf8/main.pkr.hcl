# Windows line endings and UTF-8 punctuation — as written on many laptops.
source "vultr" "crlf" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "café “image”"
}

build {
  sources = ["source.vultr.crlf"]
  provisioner "shell" {
    inline = ["echo crlf-ok > /root/crlf.txt"]
  }
}
