# The snapshot is booted once before anyone deploys it: a new instance of
# it must hold the app's configuration and run its start-up script. The
# check logs in with the build's own key, which the image keeps.
source "vultr" "web" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "corpus verify pass"
}

build {
  sources = ["source.vultr.web"]

  provisioner "shell" {
    inline = [
      "mkdir -p /opt/app",
      "echo ready > /root/app.conf",
      "printf '#!/bin/sh\\necho app-ok\\n' > /opt/app/start.sh",
      "chmod +x /opt/app/start.sh",
    ]
  }

  post-processor "vultr-verify" {
    timeout          = "2m"
    environment_vars = ["EXPECT=ready"]
    inline = [
      "test \"$(cat /root/app.conf)\" = \"$EXPECT\"",
      "/opt/app/start.sh | grep -q app-ok",
    ]
  }

  post-processor "manifest" {
    output = "manifest.json"
  }
}
