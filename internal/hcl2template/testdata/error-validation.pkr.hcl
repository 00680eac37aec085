variable "env_name" {
  type    = string
  default = "qa"
  validation {
    condition     = contains(["staging", "production"], var.env_name)
    error_message = "env_name must be staging or production."
  }
}

source "vultr" "app" {
  region_id    = "ewr"
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}

build {
  sources = ["source.vultr.app"]
}
