# The common pattern: a shell bootstrap, then a playbook run from the build
# host over SSH (the ansible provisioner).
packer {
  required_plugins {
    ansible = {
      version = ">= 1.1.0"
      source  = "github.com/hashicorp/ansible"
    }
  }
}

variable "db_password" {
  type      = string
  default   = "corpus-ansible-secret-7"
  sensitive = true
}

source "vultr" "ansible" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "ansible"
}

build {
  sources = ["source.vultr.ansible"]
  provisioner "shell" {
    inline = ["mkdir -p /opt/bootstrap", "echo bootstrapped > /opt/bootstrap/done"]
  }
  provisioner "ansible" {
    playbook_file    = "ansible/site.yml"
    user             = "root"
    groups           = ["web"]
    extra_arguments  = ["--extra-vars", "db_password=${var.db_password}"]
    ansible_env_vars = ["ANSIBLE_NOCOWS=1"]
  }
}
