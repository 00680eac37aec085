# Provision-time build variables, as templates use them to hand a
# connection to tools (build.Host, build.User, build.Port, ...).
source "vultr" "vars" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "vars"
}

build {
  name    = "ctx"
  sources = ["source.vultr.vars"]
  provisioner "shell" {
    inline = [
      "echo '${build.ConnType} ${build.User} ${build.Port}' > /root/conn.txt",
      "echo '${build.name} ${source.name} ${packer.version}' > /root/names.txt",
      "test -n '${build.ID}' && test -n '${build.Host}' && echo yes > /root/known.txt",
      "echo '${build.SSHPublicKey}' | cut -d' ' -f1 > /root/key-type.txt",
    ]
  }
  provisioner "shell" {
    environment_vars = ["RUN=${build.PackerRunUUID}"]
    inline           = ["test $${#RUN} -eq 36 && echo uuid > /root/run.txt"]
  }
}
