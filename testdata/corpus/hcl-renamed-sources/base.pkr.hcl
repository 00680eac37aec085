# One source reused for two images, Packer's documented way: the build
# block renames it, and provisioners pick builds by "vultr.NAME".
variable "api_key" {
  type      = string
  default   = env("VULTR_API_KEY")
  sensitive = true
}

source "vultr" "base" {
  api_key              = var.api_key
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "base"
}

build {
  source "source.vultr.base" {
    name                 = "web"
    snapshot_description = "web image"
  }
  source "source.vultr.base" {
    name                 = "db"
    snapshot_description = "db image"
  }

  provisioner "shell" {
    inline = ["echo common > /root/common.txt"]
  }
  provisioner "shell" {
    only   = ["vultr.web"]
    inline = ["echo web > /root/role.txt"]
  }
  provisioner "shell" {
    except = ["vultr.web"]
    inline = ["echo db > /root/role.txt"]
  }
  provisioner "shell" {
    inline = ["echo ${source.name} > /root/source-name.txt"]
  }
}
