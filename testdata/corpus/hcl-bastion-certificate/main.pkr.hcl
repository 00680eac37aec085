# The machine is reached through a jump host that trusts a certificate
# authority: the bastion logs us in with an OpenSSH certificate, the
# machine with the build's temporary key.
variable "bastion_host" {
  type    = string
  default = coalesce(env("CORPUS_BASTION_HOST"), "127.0.0.1")
}

variable "bastion_port" {
  type    = number
  default = coalesce(env("CORPUS_BASTION_PORT"), "22")
}

source "vultr" "jumped" {
  region_id                    = "ewr"
  plan_id                      = "vc2-1c-1gb"
  os_id                        = 2284
  ssh_username                 = "root"
  ssh_bastion_host             = var.bastion_host
  ssh_bastion_port             = var.bastion_port
  ssh_bastion_username         = "root"
  ssh_bastion_private_key_file = "keys/bastion"
  ssh_bastion_certificate_file = "keys/bastion-cert.pub"
  snapshot_description         = "corpus bastion certificate"
}

build {
  sources = ["source.vultr.jumped"]

  provisioner "shell" {
    inline = ["echo through-the-bastion > /root/jumped.txt"]
  }
}
