# A cleanup script that removes what the image needs: the check finds it
# missing on the first boot, the snapshot is deleted, and the build fails.
# No manifest names the deleted snapshot.
source "vultr" "web" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "corpus verify fail"
}

build {
  sources = ["source.vultr.web"]

  provisioner "shell" {
    inline = ["echo ready > /root/app.conf", "rm -f /root/app.conf"]
  }

  post-processor "vultr-verify" {
    timeout = "2m"
    inline  = ["test -f /root/app.conf || { echo 'app.conf is missing' >&2; exit 3; }"]
  }

  post-processor "manifest" {
    output = "manifest.json"
  }
}
