# The machine is reached through a SOCKS5 proxy, with its credentials.
variable "socks_host" {
  type    = string
  default = coalesce(env("CORPUS_SOCKS5_HOST"), "127.0.0.1")
}

variable "socks_port" {
  type    = number
  default = coalesce(env("CORPUS_SOCKS5_PORT"), "1080")
}

variable "socks_password" {
  type      = string
  sensitive = true
  default   = "proxy-pw-42"
}

source "vultr" "proxied" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  ssh_proxy_host       = var.socks_host
  ssh_proxy_port       = var.socks_port
  ssh_proxy_username   = "corpus"
  ssh_proxy_password   = var.socks_password
  snapshot_description = "corpus socks proxy"
}

build {
  sources = ["source.vultr.proxied"]

  provisioner "shell" {
    inline = ["echo through-the-proxy > /root/proxied.txt"]
  }
}
