build {
  provisioner "shell" {
    inline = ["echo nowhere to run"]
  }
}
