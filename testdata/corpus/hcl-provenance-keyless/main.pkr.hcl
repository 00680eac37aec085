# Keyless signing as a GitHub Actions job does it: the job's OIDC token
# (audience sigstore) buys a Fulcio certificate naming the workflow, and
# the statement is written with its Sigstore bundle. Here Fulcio, the
# token endpoint and the trusted root are in-process. The SBOM, SPDX this
# time, is attested too.
variable "fulcio" {
  type    = string
  default = env("CORPUS_FULCIO_URL")
}

source "vultr" "keyless" {
  region_id            = "ewr"
  plan_id              = "vc2-1c-1gb"
  os_id                = 2284
  ssh_username         = "root"
  snapshot_description = "corpus provenance keyless"
}

build {
  sources = ["source.vultr.keyless"]

  provisioner "shell" {
    inline = ["echo keyless > /root/built.txt"]
  }

  provisioner "hcp-sbom" {
    auto_generate = true
    scanner_args  = ["-o", "spdx-json"]
    destination   = "sbom/keyless.spdx.json"
  }

  post-processor "provenance" {
    output_dir          = "att"
    sbom                = true
    sbom_format         = "spdx"
    signing_mode        = "keyless"
    fulcio_url          = var.fulcio
    trusted_root_path   = "keys/trusted_root.json"
    keyless_identity    = "https://github.com/corpus/images/.github/workflows/build.yml@refs/heads/main"
    keyless_oidc_issuer = "https://token.actions.githubusercontent.com"
  }
}
