# SBOMs of what goes into the snapshot: one made here from the machine's
# dpkg database (auto_generate: nothing runs on the machine), one from an
# apk database under another root (scan_path), and one the template made
# on the machine itself (source), checked and downloaded.
source "vultr" "sbom" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "corpus sbom"
}

build {
  sources = ["source.vultr.sbom"]

  provisioner "hcp-sbom" {
    auto_generate = true
    sbom_name     = "corpus-debian"
    destination   = "out/debian.cdx.json"
  }

  provisioner "shell" {
    inline = [
      "mkdir -p /srv/alpine-root/lib/apk/db /srv/alpine-root/etc",
      "printf 'ID=alpine\\nVERSION_ID=3.20.3\\nPRETTY_NAME=\"Alpine Linux v3.20\"\\n' > /srv/alpine-root/etc/os-release",
      "printf 'P:musl\\nV:1.2.5-r0\\nA:x86_64\\n\\nP:busybox\\nV:1.36.1-r29\\nA:x86_64\\n' > /srv/alpine-root/lib/apk/db/installed",
      "printf '{\"bomFormat\":\"CycloneDX\",\"specVersion\":\"1.5\",\"version\":1,\"components\":[{\"type\":\"library\",\"name\":\"corpus-app\",\"version\":\"2.0.1\"}]}' > /root/app.cdx.json",
    ]
  }

  provisioner "hcp-sbom" {
    auto_generate = true
    scan_path     = "/srv/alpine-root"
    destination   = "out/alpine.cdx.json"
  }

  provisioner "hcp-sbom" {
    source      = "/root/app.cdx.json"
    destination = "out/"
  }
}
