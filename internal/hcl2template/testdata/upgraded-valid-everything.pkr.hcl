# Converted from a Packer JSON template by vultr-image-action hcl2_upgrade.

variable "db_password" {
  type = string
  default = "hunter2-secret"
  sensitive = true
}

variable "key" {
  type = string
  default = "${env("VULTR_API_KEY")}"
}

variable "region" {
  type = string
  default = "fra"
}

variable "version" {
  type = string
  default = "2.0.1"
}

source "vultr" "web" {
  api_key = "${var.key}"
  enable_ipv6 = true
  hostname = "web-{{build_name}}"
  keep_snapshots = 3
  os_id = "2284"
  plan_id = "vc2-1c-1gb"
  region_id = "${var.region}"
  snapshot_description = "web ${var.version}"
  snapshot_timeout = "45m"
  ssh_timeout = "10m"
  ssh_username = "root"
  state_timeout = "20m"
  tags = ["app", "web"]
}

source "vultr" "worker" {
  api_key = "${var.key}"
  os_id = "2284"
  plan_id = "201"
  region_id = "ewr"
  snapshot_description = "worker ${var.version}"
  ssh_username = "root"
}

build {
  description = "Everything the JSON front end supports"
  sources = ["source.vultr.web", "source.vultr.worker"]

  provisioner "shell" {
    environment_vars = ["DB_PASSWORD=${var.db_password}"]
    inline = ["echo ${var.version} > /etc/version"]
    max_retries = 2
    pause_before = "5s"
    timeout = "5m"
  }

  provisioner "shell" {
    execute_command = "sudo sh -c '{{.Vars}} {{.Path}}'"
    expect_disconnect = true
    only = ["vultr.web"]
    script = "scripts/setup.sh"
    valid_exit_codes = [0, 2]
  }

  provisioner "file" {
    destination = "/opt/app/"
    override = { "vultr.worker" = { destination = "/opt/worker/" } }
    source = "files/"
  }

  provisioner "file" {
    content = "x=1\n"
    destination = "/etc/x.conf"
    except = ["vultr.worker"]
  }

  provisioner "shell-local" {
    inline = ["echo built {{build_name}}"]
  }

  post-processors {

    post-processor "manifest" {
      custom_data = { version = "${var.version}" }
      output = "out/manifest.json"
      strip_path = true
    }

    post-processor "shell-local" {
      inline = ["echo done"]
    }
  }
}
