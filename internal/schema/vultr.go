package schema

// winrmRefused is why the WinRM keys fail validate.
const winrmRefused = "WinRM is not supported: this tool speaks SSH only. Build Windows images over SSH (install OpenSSH Server from user data or a startup script, then `communicator = \"ssh\"`)"

// internalRefused is why Packer's internal keys fail validate.
const internalRefused = "set by Packer core for its plugins, never by a template"

// Vultr is the vultr builder (a `source "vultr"` block or a JSON builder
// of type "vultr"): packer-plugin-vultr v2.7.0's keys, its communicator's
// (packer-plugin-sdk v0.6.7), older plugins' spellings, and ours.
var Vultr = Block{ID: "vultr", Name: "a vultr builder", Keys: concat([]Key{
	{Name: "type", Type: String, Origin: Core, Doc: "`vultr` (JSON templates)"},
	{Name: "name", Type: String, Origin: Core, Doc: "the build's name (JSON templates); default the type"},

	// The plugin's keys.
	{Name: "api_key", Type: String, Origin: Plugin, Default: "`VULTR_API_KEY`", Doc: "the Vultr API key; masked everywhere"},
	{Name: "region_id", Type: String, Origin: Plugin, Doc: "region (`ewr`); a numeric v1 ID (`\"1\"`) is translated", OneOf: "region"},
	{Name: "plan_id", Type: String, Origin: Plugin, Doc: "plan (`vc2-1c-1gb`); a numeric v1 ID (`\"201\"`) is translated", OneOf: "plan"},
	{Name: "os_id", Type: Number, Origin: Plugin, Doc: "OS image (`2284`); one image source of the alternatives", OneOf: "image"},
	{Name: "app_id", Type: Number, Origin: Plugin, Doc: "a one-click application", OneOf: "image"},
	{Name: "image_id", Type: String, Origin: Plugin, Doc: "a marketplace image", OneOf: "image"},
	{Name: "snapshot_id", Type: String, Origin: Plugin, Doc: "a snapshot to start from; needs ssh_password or ssh_private_key_file", OneOf: "image"},
	{Name: "iso_id", Type: String, Origin: Plugin, Doc: "an ISO (the account's or a public one); needs ssh_password or ssh_private_key_file", OneOf: "image"},
	{Name: "iso_url", Type: String, Origin: Plugin, Refused: "Vultr fetches an ISO from a URL only into the account (POST /v2/iso), which a build must not leave behind: upload it once and set `iso_id`"},
	{Name: "snapshot_description", Type: String, Origin: Plugin, Default: "`packer-<timestamp>`", Doc: "the snapshot's description (and what retention matches)"},
	{Name: "instance_label", Type: String, Origin: Plugin, Default: "`Snapshotting: <snapshot_description>`", Doc: "the instance's label (the seed article's rule; `packer-<timestamp>` without a description)"},
	{Name: "hostname", Type: String, Origin: Plugin, Doc: "the instance's hostname"},
	{Name: "enable_ipv6", Type: Bool, Origin: Plugin, Default: "false", Doc: "give the instance an IPv6 address"},
	{Name: "enable_vpc", Type: Bool, Origin: Plugin, Default: "false", Doc: "attach the instance to a VPC (`vpc_ids`, or the region's default)"},
	{Name: "enable_vpc2", Type: Bool, Origin: Plugin, Default: "false", Doc: "VPC 2.0, deprecated by Vultr: warns, and attaches a VPC"},
	{Name: "script_id", Type: String, Origin: Plugin, Doc: "a startup script to run on first boot"},
	{Name: "ssh_key_ids", Type: StringList, Origin: Plugin, Doc: "SSH keys of the account to install (the temporary key is added)"},
	{Name: "userdata", Type: String, Origin: Plugin, Doc: "cloud-init user data, plain or base64 (never encoded twice)"},
	{Name: "tags", Type: StringList, Origin: Plugin, Doc: "tags for the instance (the tool adds its own)"},
	{Name: "state_timeout", Type: Duration, Origin: Plugin, Default: "10m", Doc: "the default of every wait; `0s` means the default"},

	// Ours.
	{Name: "region_code", Type: String, Origin: Ours, Doc: "region by code (`ORD`)", OneOf: "region"},
	{Name: "region_name", Type: String, Origin: Ours, Doc: "region by city (`Chicago`), from the live catalogue", OneOf: "region"},
	{Name: "plan_name", Type: String, Origin: Ours, Doc: "plan by its v1 description (`1024 MB RAM,25 GB SSD,1.00 TB BW`)", OneOf: "plan"},
	{Name: "os_name", Type: String, Origin: Ours, Doc: "OS by name (`Ubuntu 24.04 LTS x64`)", OneOf: "image"},
	{Name: "snapshot_name", Type: String, Origin: Ours, Doc: "the one complete snapshot with this description, to start from", OneOf: "image"},
	{Name: "vpc_ids", Type: StringList, Origin: Ours, Doc: "VPCs to attach"},
	{Name: "boot_timeout", Type: Duration, Origin: Ours, Default: "`state_timeout`", Doc: "the wait for the instance to boot (`server_status` ok)"},
	{Name: "shutdown_timeout", Type: Duration, Origin: Ours, Default: "`state_timeout`", Doc: "the wait for the instance to stop after `shutdown_command`, then halt"},
	{Name: "snapshot_timeout", Type: Duration, Origin: Ours, Default: "from the disk: `max(30m, 40 s per GB)`", Doc: "the wait for the snapshot (`state_timeout` when that is set)"},
	{Name: "shutdown_command", Type: String, Origin: Ours, Default: "`shutdown -P now`", Doc: "run over SSH before the snapshot"},
	{Name: "keep_snapshots", Type: Number, Origin: Ours, Default: "0 (keep all)", Doc: "after a successful build, keep the newest N snapshots with this description"},
	{Name: "keep_snapshots_prefix", Type: String, Origin: Ours, Doc: "retention matches descriptions that start with this"},
	{Name: "retention_dry_run", Type: Bool, Origin: Ours, Default: "false", Doc: "list what retention would delete, delete nothing"},
	{Name: "ssh_interface", Type: String, Origin: Ours, Default: "`public_v4`", Doc: "`public_v4` or `public_v6`: the address to reach"},
	{Name: "ssh_host_key_fingerprint", Type: String, Origin: Ours, Doc: "the machine's host key must have this SHA256 fingerprint"},

	// Older plugins' spellings.
	{Name: "description", Type: String, Origin: Legacy, Modern: "snapshot_description"},
	{Name: "label", Type: String, Origin: Legacy, Modern: "instance_label"},
	{Name: "ipv6", Type: Bool, Origin: Legacy, Modern: "enable_ipv6"},
	{Name: "enable_private_network", Type: Bool, Origin: Legacy, Modern: "enable_vpc"},
	{Name: "private_networking", Type: Bool, Origin: Legacy, Modern: "enable_vpc"},
	{Name: "startup_script_id", Type: String, Origin: Legacy, Modern: "script_id"},
	{Name: "sshkey_id", Type: StringList, Origin: Legacy, Modern: "ssh_key_ids"},
	{Name: "ssh_key_id", Type: StringList, Origin: Legacy, Modern: "ssh_key_ids"},
	{Name: "user_data", Type: String, Origin: Legacy, Modern: "userdata"},
	{Name: "tag", Type: String, Origin: Legacy, Modern: "tags"},
}, communicatorKeys, internalKeys)}

// Null is Packer core's null builder: no cloud, no image; with
// communicator = "none" its provisioners run here, with ssh_host they
// provision a machine that already exists.
var Null = Block{ID: "null", Name: "a null builder", Keys: concat([]Key{
	{Name: "type", Type: String, Origin: Core, Doc: "`null` (JSON templates)"},
	{Name: "name", Type: String, Origin: Core, Doc: "the build's name (JSON templates); default the type"},
	{Name: "ssh_host_key_fingerprint", Type: String, Origin: Ours, Doc: "the machine's host key must have this SHA256 fingerprint"},
}, communicatorKeys, internalKeys)}

// communicatorKeys are packer-plugin-sdk v0.6.7's communicator.Config, which
// every builder embeds.
var communicatorKeys = []Key{
	{Name: "communicator", Type: String, Origin: SDK, Default: "`ssh`", Doc: "`ssh`; `none` (the null builder only: its steps run here)"},
	{Name: "pause_before_connecting", Type: Duration, Origin: SDK, Doc: "wait this long before the first SSH attempt"},
	{Name: "ssh_host", Type: String, Origin: SDK, Default: "the instance's address", Doc: "the address to dial"},
	{Name: "ssh_port", Type: Number, Origin: SDK, Default: "22", Doc: "the SSH port"},
	{Name: "ssh_username", Type: String, Origin: SDK, Doc: "required; usually `root` on Vultr images"},
	{Name: "ssh_password", Type: String, Origin: SDK, Doc: "password (and keyboard-interactive); masked everywhere"},
	{Name: "ssh_keypair_name", Type: String, Origin: SDK, Doc: "an SSH key of the account, by name, to install instead of a temporary key; needs ssh_private_key_file or ssh_agent_auth"},
	{Name: "temporary_key_pair_name", Type: String, Origin: SDK, Doc: "the temporary key's comment in authorized_keys (ssh_clear_authorized_keys removes it)"},
	{Name: "temporary_key_pair_type", Type: String, Origin: SDK, Doc: "ignored with a warning: the temporary key is ed25519"},
	{Name: "temporary_key_pair_bits", Type: Number, Origin: SDK, Doc: "ignored with a warning: ed25519 has a fixed size"},
	{Name: "ssh_ciphers", Type: StringList, Origin: SDK, Default: "Go's defaults", Doc: "the ciphers to offer"},
	{Name: "ssh_key_exchange_algorithms", Type: StringList, Origin: SDK, Default: "Go's defaults", Doc: "the key exchanges to offer"},
	{Name: "ssh_clear_authorized_keys", Type: Bool, Origin: SDK, Default: "false", Doc: "remove the temporary key from authorized_keys before the snapshot"},
	{Name: "ssh_private_key_file", Type: String, Origin: SDK, Doc: "a private key to log in with"},
	{Name: "ssh_certificate_file", Type: String, Origin: SDK, Doc: "an OpenSSH certificate for ssh_private_key_file (which it needs)"},
	{Name: "ssh_pty", Type: Bool, Origin: SDK, Default: "false", Doc: "run every command in a pseudo-terminal"},
	{Name: "ssh_timeout", Type: Duration, Origin: SDK, Default: "5m (with 10 handshake attempts, when neither is set)", Doc: "how long to wait for SSH"},
	{Name: "ssh_wait_timeout", Type: Duration, Origin: SDK, Doc: "Packer's older name of ssh_timeout: when set, it wins (a warning says so)"},
	{Name: "ssh_agent_auth", Type: Bool, Origin: SDK, Default: "false", Doc: "log in with the keys of the SSH agent (`SSH_AUTH_SOCK`)"},
	{Name: "ssh_disable_agent_forwarding", Type: Bool, Origin: SDK, Default: "false", Doc: "do not forward the SSH agent (`SSH_AUTH_SOCK`) to the machine's commands, as Packer does by default"},
	{Name: "ssh_handshake_attempts", Type: Number, Origin: SDK, Default: "10 (see ssh_timeout)", Doc: "authentication failures before giving up"},
	{Name: "ssh_keep_alive_interval", Type: Duration, Origin: SDK, Default: "5s", Doc: "keepalives; negative disables them"},
	{Name: "ssh_read_write_timeout", Type: Duration, Origin: SDK, Default: "none", Doc: "bounds each network read or write"},
	{Name: "ssh_file_transfer_method", Type: String, Origin: SDK, Default: "`sftp` (Packer: `scp`)", Doc: "`sftp` or `scp`"},
	{Name: "ssh_bastion_host", Type: String, Origin: SDK, Doc: "a jump host to reach the machine through"},
	{Name: "ssh_bastion_port", Type: Number, Origin: SDK, Default: "22", Doc: "the bastion's SSH port"},
	{Name: "ssh_bastion_username", Type: String, Origin: SDK, Default: "ssh_username", Doc: "the bastion's user"},
	{Name: "ssh_bastion_password", Type: String, Origin: SDK, Doc: "the bastion's password; masked everywhere"},
	{Name: "ssh_bastion_agent_auth", Type: Bool, Origin: SDK, Default: "false", Doc: "log in to the bastion with the SSH agent's keys"},
	{Name: "ssh_bastion_interactive", Type: Bool, Origin: SDK, Default: "false", Doc: "answer the bastion's keyboard-interactive questions in the terminal (a build without one fails, naming the key)"},
	{Name: "ssh_bastion_private_key_file", Type: String, Origin: SDK, Default: "ssh_private_key_file", Doc: "the bastion's private key"},
	{Name: "ssh_bastion_certificate_file", Type: String, Origin: SDK, Default: "ssh_certificate_file (with the key file)", Doc: "an OpenSSH certificate for the bastion's key"},
	{Name: "ssh_proxy_host", Type: String, Origin: SDK, Doc: "a SOCKS5 proxy to dial through (not with a bastion)"},
	{Name: "ssh_proxy_port", Type: Number, Origin: SDK, Default: "1080", Doc: "the proxy's port"},
	{Name: "ssh_proxy_username", Type: String, Origin: SDK, Doc: "the proxy's user"},
	{Name: "ssh_proxy_password", Type: String, Origin: SDK, Doc: "the proxy's password; masked everywhere"},
	{Name: "ssh_local_tunnels", Type: StringList, Origin: SDK, Doc: "`[bind:]port:host:hostport`: this host's port forwarded to host:hostport as the machine reaches it, while the build runs"},
	{Name: "ssh_remote_tunnels", Type: StringList, Origin: SDK, Doc: "`[bind:]port:host:hostport`: the machine's port forwarded to host:hostport as this host reaches it, while the build runs"},
	{Name: "ssh_public_key", Type: NumberList, Origin: SDK, Refused: "Packer's builders fill it with the temporary key; set `ssh_private_key_file` or `ssh_keypair_name`"},
	{Name: "ssh_private_key", Type: NumberList, Origin: SDK, Refused: "Packer's builders fill it with the temporary key; set `ssh_private_key_file` or `ssh_keypair_name`"},
	{Name: "winrm_username", Type: String, Origin: SDK, Refused: winrmRefused},
	{Name: "winrm_password", Type: String, Origin: SDK, Refused: winrmRefused},
	{Name: "winrm_host", Type: String, Origin: SDK, Refused: winrmRefused},
	{Name: "winrm_no_proxy", Type: Bool, Origin: SDK, Refused: winrmRefused},
	{Name: "winrm_port", Type: Number, Origin: SDK, Refused: winrmRefused},
	{Name: "winrm_timeout", Type: Duration, Origin: SDK, Refused: winrmRefused},
	{Name: "winrm_use_ssl", Type: Bool, Origin: SDK, Refused: winrmRefused},
	{Name: "winrm_insecure", Type: Bool, Origin: SDK, Refused: winrmRefused},
	{Name: "winrm_use_ntlm", Type: Bool, Origin: SDK, Refused: winrmRefused},
}

// internalKeys are Packer core's, for its plugins.
var internalKeys = []Key{
	{Name: "packer_build_name", Type: String, Origin: Core, Refused: internalRefused},
	{Name: "packer_builder_type", Type: String, Origin: Core, Refused: internalRefused},
	{Name: "packer_core_version", Type: String, Origin: Core, Refused: internalRefused},
	{Name: "packer_debug", Type: Bool, Origin: Core, Refused: internalRefused},
	{Name: "packer_force", Type: Bool, Origin: Core, Refused: internalRefused},
	{Name: "packer_on_error", Type: String, Origin: Core, Refused: internalRefused},
	{Name: "packer_user_variables", Type: StringMap, Origin: Core, Refused: internalRefused},
	{Name: "packer_sensitive_variables", Type: StringList, Origin: Core, Refused: internalRefused},
}

func concat(parts ...[]Key) []Key {
	var out []Key
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}
