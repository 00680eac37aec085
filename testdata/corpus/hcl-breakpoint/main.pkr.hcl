# Breakpoints left in a template: disabled, or enabled in CI (no terminal),
# neither may stop or hang the build.
source "vultr" "bp" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "breakpoint"
}

build {
  sources = ["source.vultr.bp"]
  provisioner "shell" {
    inline = ["echo one > /root/one.txt"]
  }
  provisioner "breakpoint" {
    disable = true
    note    = "disabled"
  }
  provisioner "breakpoint" {
    note = "check the service"
  }
  provisioner "shell" {
    inline = ["echo two > /root/two.txt"]
  }
}
