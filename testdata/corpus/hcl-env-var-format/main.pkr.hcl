source "vultr" "fmt" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "env var format"
}

build {
  sources = ["source.vultr.fmt"]
  provisioner "shell" {
    env_var_format   = "export %s='%s'; "
    environment_vars = ["A=one", "B=two words"]
    inline           = ["echo \"$A|$B|$PACKER_BUILD_NAME\" > /root/vars.txt"]
  }
  provisioner "shell" {
    env    = { C = "from env map" }
    inline = ["echo \"$C\" > /root/env-map.txt"]
  }
}
