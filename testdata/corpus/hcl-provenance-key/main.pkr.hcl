# Proof of what was built. The signed build attests its snapshot and the
# snapshot's SBOM (read from the machine's dpkg database) with an ECDSA
# key; the other writes an unsigned statement. A sensitive variable never
# reaches a statement.
variable "release" {
  type    = string
  default = "2026.12"
}

variable "db_password" {
  type      = string
  default   = "corpus-provenance-secret-42"
  sensitive = true
}

source "vultr" "signed" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "corpus provenance signed ${var.release}"
}

source "vultr" "plain" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "corpus provenance plain"
}

build {
  sources = ["source.vultr.signed", "source.vultr.plain"]

  provisioner "shell" {
    environment_vars = ["DB_PASSWORD=${var.db_password}"]
    inline           = ["test -n \"$DB_PASSWORD\" && echo configured > /root/app.conf"]
  }

  provisioner "hcp-sbom" {
    only          = ["vultr.signed"]
    auto_generate = true
    destination   = "sbom/signed.cdx.json"
  }

  post-processor "provenance" {
    only         = ["vultr.signed"]
    output_dir   = "att"
    sbom         = true
    signing_mode = "key"
    signer       = "keys/release.pem"
    verifier     = "keys/release.pub.pem"
  }

  post-processor "provenance" {
    only           = ["vultr.plain"]
    output_dir     = "att"
    user_variables = { channel = "stable", db_password = upper(var.db_password) }
  }
}
