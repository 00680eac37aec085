# on_failure = "keep": a snapshot that fails its check stays for
# debugging, named in the error; the build still fails, and the check's
# instance is destroyed.
source "vultr" "web" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "corpus verify keep"
}

build {
  sources = ["source.vultr.web"]

  provisioner "shell" {
    inline = ["echo 90 > /root/disk-used-percent"]
  }

  post-processor "vultr-verify" {
    timeout    = "2m"
    on_failure = "keep"
    inline     = ["test \"$(cat /root/disk-used-percent)\" -lt 80"]
  }
}
