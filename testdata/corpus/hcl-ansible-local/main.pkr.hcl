# Ansible installed on the machine runs the playbook there (ansible-local);
# the staging directory does not reach the image.
source "vultr" "local" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "ansible-local"
}

build {
  sources = ["source.vultr.local"]
  provisioner "ansible-local" {
    playbook_dir      = "ansible"
    playbook_file     = "ansible/site.yml"
    staging_directory = "/root/ansible-staging"
    inventory_groups  = ["web"]
    extra_arguments   = ["--extra-vars", "app_port=9090"]
  }
}
