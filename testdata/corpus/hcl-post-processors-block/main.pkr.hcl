source "vultr" "pp" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "post-processors"
}

build {
  sources = ["source.vultr.pp"]
  provisioner "shell" {
    inline = ["echo pp > /root/pp.txt"]
  }
  post-processors {
    post-processor "manifest" {
      output      = "manifest-${source.name}.json"
      custom_data = { team = "platform" }
    }
    post-processor "shell-local" {
      inline = ["grep -q platform manifest-pp.json"]
    }
  }
}
