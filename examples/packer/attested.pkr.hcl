# An application image with proof of what it holds: the SBOM of the
# snapshot (read from its dpkg database; nothing runs on the machine),
# and SLSA provenance naming the snapshot, both signed keyless with the
# job's OIDC token and recorded in Sigstore's public Rekor, so a later
# job (the deploy) can check them.
variable "app_version" {
  type    = string
  default = "dev"
}

# The workflow that signs: what the deploy job expects the certificate to
# name.
variable "workflow" {
  type    = string
  default = "https://github.com/org/app/.github/workflows/attested-release.yml@refs/heads/main"
}

source "vultr" "app" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "app ${var.app_version}"
}

build {
  sources = ["source.vultr.app"]

  provisioner "shell" {
    inline = ["apt-get update -q", "DEBIAN_FRONTEND=noninteractive apt-get install -yq nginx"]
  }

  provisioner "hcp-sbom" {
    auto_generate = true
    destination   = "attestations/"
  }

  post-processor "provenance" {
    output_dir          = "attestations"
    sbom                = true
    signing_mode        = "keyless"
    upload_tlog         = true
    keyless_identity    = var.workflow
    keyless_oidc_issuer = "https://token.actions.githubusercontent.com"
  }
}
