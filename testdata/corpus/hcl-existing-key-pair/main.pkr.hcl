# An SSH key that already lives in the account, by name, and its private
# half: the build installs it and logs in with it, and makes no temporary
# key: the machine holds that one key only.
source "vultr" "kp" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  ssh_keypair_name     = "corpus-deploy"
  ssh_private_key_file = "keys/corpus-deploy"
  snapshot_description = "corpus existing key pair"
}

build {
  sources = ["source.vultr.kp"]

  provisioner "shell" {
    inline = ["grep -c . /root/.ssh/authorized_keys > /root/kp.txt"]
  }
}
