package schema

// ansibleOrigin is where the ansible provisioners' keys come from.
const ansibleOrigin Origin = "packer-plugin-ansible"

// AnsibleLocal is packer-plugin-ansible's ansible-local provisioner: the
// playbook runs on the machine.
var AnsibleLocal = Block{ID: "ansible-local", Name: "an ansible-local provisioner", Keys: []Key{
	{Name: "playbook_file", Type: String, Origin: ansibleOrigin, Doc: "the playbook", OneOf: "playbook"},
	{Name: "playbook_files", Type: StringList, Origin: ansibleOrigin, Doc: "playbooks, run in order", OneOf: "playbook"},
	{Name: "playbook_dir", Type: String, Origin: ansibleOrigin, Doc: "a directory uploaded with the playbooks"},
	{Name: "playbook_paths", Type: StringList, Origin: ansibleOrigin, Doc: "directories uploaded beside the playbooks"},
	{Name: "role_paths", Type: StringList, Origin: ansibleOrigin, Doc: "roles, uploaded to roles/"},
	{Name: "group_vars", Type: String, Origin: ansibleOrigin, Doc: "a group_vars directory"},
	{Name: "host_vars", Type: String, Origin: ansibleOrigin, Doc: "a host_vars directory"},
	{Name: "galaxy_file", Type: String, Origin: ansibleOrigin, Doc: "a Galaxy requirements file, installed on the machine"},
	{Name: "galaxy_command", Type: String, Origin: ansibleOrigin, Default: "`ansible-galaxy`", Doc: "the Galaxy command"},
	{Name: "galaxy_roles_path", Type: String, Origin: ansibleOrigin, Doc: "where Galaxy roles go"},
	{Name: "galaxy_collections_path", Type: String, Origin: ansibleOrigin, Doc: "where Galaxy collections go"},
	{Name: "inventory_file", Type: String, Origin: ansibleOrigin, Doc: "an inventory instead of the generated one"},
	{Name: "inventory_groups", Type: StringList, Origin: ansibleOrigin, Doc: "groups the machine is in"},
	{Name: "extra_arguments", Type: StringList, Origin: ansibleOrigin, Doc: "arguments for ansible-playbook, joined into the shell command as in Packer"},
	{Name: "command", Type: String, Origin: ansibleOrigin, Default: "`ansible-playbook`", Doc: "the playbook command"},
	{Name: "staging_directory", Type: String, Origin: ansibleOrigin, Default: "a fresh directory under /tmp", Doc: "where files are staged on the machine (mode 0700)"},
	{Name: "clean_staging_directory", Type: Bool, Origin: ansibleOrigin, Default: "true (Packer: false)", Doc: "remove the staging directory before the snapshot"},
}}

// Ansible is packer-plugin-ansible's ansible provisioner: the playbook
// runs here and reaches the machine over SSH.
var Ansible = Block{ID: "ansible", Name: "an ansible provisioner", Keys: []Key{
	{Name: "playbook_file", Type: String, Origin: ansibleOrigin, Doc: "the playbook"},
	{Name: "command", Type: String, Origin: ansibleOrigin, Default: "`ansible-playbook`", Doc: "the playbook command"},
	{Name: "extra_arguments", Type: StringList, Origin: ansibleOrigin, Doc: "arguments for ansible-playbook"},
	{Name: "ansible_env_vars", Type: StringList, Origin: ansibleOrigin, Doc: "`KEY=value` variables for ansible-playbook"},
	{Name: "ansible_ssh_extra_args", Type: StringList, Origin: ansibleOrigin, Doc: "extra ssh arguments"},
	{Name: "groups", Type: StringList, Origin: ansibleOrigin, Doc: "groups the machine is in"},
	{Name: "empty_groups", Type: StringList, Origin: ansibleOrigin, Doc: "groups with no host"},
	{Name: "host_alias", Type: String, Origin: ansibleOrigin, Default: "`default`", Doc: "the machine's name in the inventory"},
	{Name: "user", Type: String, Origin: ansibleOrigin, Default: "ssh_username", Doc: "the user Ansible logs in as"},
	{Name: "local_port", Type: Number, Origin: ansibleOrigin, Doc: "the port of Packer's SSH proxy: ignored with a warning (no proxy is used)"},
	{Name: "inventory_file_template", Type: String, Origin: ansibleOrigin, Doc: "the inventory line's template"},
	{Name: "inventory_directory", Type: String, Origin: ansibleOrigin, Doc: "where the inventory is written"},
	{Name: "keep_inventory_file", Type: Bool, Origin: ansibleOrigin, Default: "false", Doc: "keep the inventory afterwards"},
	{Name: "galaxy_file", Type: String, Origin: ansibleOrigin, Doc: "a Galaxy requirements file, installed here"},
	{Name: "galaxy_command", Type: String, Origin: ansibleOrigin, Default: "`ansible-galaxy`", Doc: "the Galaxy command"},
	{Name: "roles_path", Type: String, Origin: ansibleOrigin, Doc: "where Galaxy roles go"},
	{Name: "collections_path", Type: String, Origin: ansibleOrigin, Doc: "where collections are found"},
	{Name: "use_proxy", Type: Bool, Origin: ansibleOrigin, Default: "false (Packer: true)", Doc: "`true` fails validate: Ansible connects directly, with the pinned host key"},
	{Name: "sftp_command", Type: String, Origin: ansibleOrigin, Doc: "the sftp command Ansible uses"},
	{Name: "skip_version_check", Type: Bool, Origin: ansibleOrigin, Default: "false", Doc: "do not check ansible-playbook's version"},
	{Name: "ansible_winrm_use_http", Type: Bool, Origin: ansibleOrigin, Doc: "`true` fails validate: WinRM is not used"},
}}
