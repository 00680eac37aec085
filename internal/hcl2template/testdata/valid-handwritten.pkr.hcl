packer {
  required_version = ">= 1.9.0"
  required_plugins {
    vultr = {
      version = ">= 2.7.0"
      source  = "github.com/vultr/vultr"
    }
  }
}

variable "api_key" {
  type      = string
  default   = env("VULTR_API_KEY")
  sensitive = true
}

variable "regions" {
  type    = list(string)
  default = ["ewr", "ord"]
}

variable "version" {
  type    = string
  default = "1.4.2"
}

locals {
  name        = "app-${replace(var.version, ".", "-")}"
  description = format("%s built for %s", upper(local.name), join("+", var.regions))
  tags        = concat(["app"], [for r in var.regions : "region-${r}"])
}

source "vultr" "web" {
  api_key              = var.api_key
  region_id            = var.regions[0]
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = local.description
  tags                 = local.tags
  hostname             = lower(local.name)
}

build {
  description = "hand-written HCL2"

  source "source.vultr.web" {
    plan_id = "vc2-1c-2gb"
  }

  provisioner "shell" {
    inline           = ["echo ${length(var.regions)} regions", "echo ${trimspace("  v${var.version}  ")}"]
    environment_vars = ["VERSION=${var.version}"]
  }

  provisioner "file" {
    content     = jsonencode({ version = var.version, regions = var.regions })
    destination = "/etc/app.json"
  }

  post-processor "manifest" {
    output = "manifest-${var.version}.json"
  }
}
