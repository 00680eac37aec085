variable "region" {
  type = string
}
variable "owner" {
  type    = string
  default = "nobody"
}
