variable "image" {
  type = object({
    name    = string
    region  = optional(string, "ewr")
    plan    = optional(string, "vc2-1c-1gb")
    tags    = optional(list(string), [])
  })
}

variable "packages" {
  type    = list(string)
  default = []
}

variable "api_key" {
  type      = string
  default   = env("VULTR_API_KEY")
  sensitive = true
}

locals {
  stamp    = formatdate("YYYYMMDD", "2026-11-30T00:00:00Z")
  all_tags = flatten([var.image.tags, ["built-${local.stamp}"]])
  settings = merge({ port = 80 }, { port = 8080, tls = true })
}
