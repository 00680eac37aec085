image = {
  name = "typed"
  tags = ["web", "prod"]
}
# Shared with other templates: not declared here (a warning, as in Packer).
other_template_only = "x"
