# A kernel update reboots the machine mid-build; the next provisioner runs
# after it comes back.
source "vultr" "reboot" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "reboot"
}

build {
  sources = ["source.vultr.reboot"]
  provisioner "shell" {
    inline            = ["echo before > /root/before.txt", "reboot"]
    expect_disconnect = true
  }
  provisioner "shell" {
    pause_before = "1s"
    inline       = ["echo after > /root/after.txt"]
  }
}
