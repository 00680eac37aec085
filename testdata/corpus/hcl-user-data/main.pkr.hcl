source "vultr" "ud" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "user data"
  user_data            = <<-EOT
    #cloud-config
    package_update: false
  EOT
  tags                 = ["image-builder", "ci"]
  enable_ipv6          = true
}

build {
  sources = ["source.vultr.ud"]
  provisioner "shell" {
    inline = ["echo ud > /root/ud.txt"]
  }
}
