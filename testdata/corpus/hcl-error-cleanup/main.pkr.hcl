# An error-cleanup-provisioner collects logs when a provisioner fails. It
# must not run when every provisioner succeeds: the image has none of its
# files. A retried provisioner that fails once still succeeds.
source "vultr" "app" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "app with error cleanup"
}

build {
  sources = ["source.vultr.app"]

  provisioner "shell" {
    inline = ["mkdir -p /opt/app", "echo ready > /opt/app/state"]
  }

  provisioner "shell" {
    max_retries = 2
    # Fails the first time, then succeeds: not an error for the build.
    inline = ["if [ ! -e /tmp/tried ]; then touch /tmp/tried; exit 1; fi", "echo second > /opt/app/attempt"]
  }

  error-cleanup-provisioner "shell" {
    inline = ["echo failed > /root/build-failed.txt", "journalctl > /root/journal.txt || true"]
  }
}
