# Another cloud's source next to a Vultr one, built without a filter.
source "amazon-ebs" "ubuntu" {
  ami_name      = "app"
  instance_type = "t3.micro"
  launch_block_device_mappings {
    device_name = "/dev/sda1"
  }
}

source "vultr" "ubuntu" {
  region_id    = "ewr"
  plan_id      = "vc2-1c-1gb"
  os_id        = 2284
  ssh_username = "root"
}

build {
  sources = ["source.amazon-ebs.ubuntu", "source.vultr.ubuntu"]
}
