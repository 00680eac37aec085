#cloud-config
write_files:
  - path: /etc/env
    content: ${env}
