# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.

variable "key" {
  type = string
  default = "${env("VULTR_API_KEY")}"
}

source "vultr" "vultr" {
  api_key = "${var.key}"
  boot_timeout = "20m"
  communicator = "ssh"
  enable_ipv6 = true
  enable_vpc = true
  hostname = "builder-1"
  instance_label = "all-keys-builder"
  keep_snapshots = 4
  os_id = "2284"
  pause_before_connecting = "5s"
  plan_id = "vc2-1c-1gb"
  region_id = "ewr"
  retention_dry_run = true
  script_id = "0b5a3c1e-4444-4222-8333-444455556666"
  shutdown_command = "poweroff"
  shutdown_timeout = "2m"
  snapshot_description = "all keys"
  snapshot_timeout = "1h"
  ssh_agent_auth = false
  ssh_bastion_host = "bastion.example.com"
  ssh_bastion_port = 2200
  ssh_bastion_private_key_file = "files/hello.txt"
  ssh_bastion_username = "jump"
  ssh_clear_authorized_keys = false
  ssh_file_transfer_method = "scp"
  ssh_handshake_attempts = 3
  ssh_host_key_fingerprint = "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8"
  ssh_interface = "public_v6"
  ssh_keep_alive_interval = "10s"
  ssh_key_ids = ["0b5a3c1e-5555-4222-8333-444455556666"]
  ssh_port = 2222
  ssh_private_key_file = "files/hello.txt"
  ssh_pty = false
  ssh_read_write_timeout = "30s"
  ssh_timeout = "7m"
  ssh_username = "root"
  state_timeout = "15m"
  tags = ["team-a", "nightly"]
  temporary_key_pair_bits = 0
  temporary_key_pair_type = "ed25519"
  userdata = "#!/bin/sh\necho hello\n"
  vpc_ids = ["0b5a3c1e-3333-4222-8333-444455556666"]
}

build {
  sources = ["source.vultr.vultr"]
}
