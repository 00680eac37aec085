# One template, three clouds: the team builds each with Packer, and the
# Vultr image with -only 'vultr.*'.
source "amazon-ebs" "web" {
  ami_name      = "web-{{timestamp}}"
  instance_type = "t3.small"
  region        = "us-east-1"
  launch_block_device_mappings {
    device_name = "/dev/sda1"
    volume_size = 20
  }
}

source "digitalocean" "web" {
  image  = "ubuntu-24-04-x64"
  region = "nyc3"
  size   = "s-1vcpu-1gb"
}

source "vultr" "web" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "web"
}

build {
  sources = ["source.amazon-ebs.web", "source.digitalocean.web", "source.vultr.web"]

  provisioner "shell" {
    inline = ["echo everywhere > /root/common.txt"]
  }
  provisioner "shell" {
    only   = ["amazon-ebs.web"]
    inline = ["echo aws > /root/cloud.txt"]
  }
  provisioner "shell" {
    only   = ["vultr.web"]
    inline = ["echo vultr > /root/cloud.txt"]
  }
}
