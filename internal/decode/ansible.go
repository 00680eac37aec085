package decode

import (
	"fmt"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// ansibleLocalKeys and ansibleKeys are the options of packer-plugin-ansible's
// two provisioners that this tool runs (docs/templates.md says what each
// does).
var (
	ansibleLocalKeys = []string{"playbook_file", "playbook_files", "playbook_dir", "playbook_paths", "role_paths", "group_vars", "host_vars",
		"galaxy_file", "galaxy_command", "galaxy_roles_path", "galaxy_collections_path", "inventory_file", "inventory_groups",
		"extra_arguments", "command", "staging_directory", "clean_staging_directory"}
	ansibleKeys = []string{"playbook_file", "command", "extra_arguments", "ansible_env_vars", "ansible_ssh_extra_args", "groups", "empty_groups",
		"host_alias", "user", "local_port", "inventory_file_template", "inventory_directory", "keep_inventory_file", "galaxy_file",
		"roles_path", "collections_path", "use_proxy", "sftp_command", "skip_version_check", "ansible_winrm_use_http", "galaxy_command"}
)

func (d *decoder) ansibleLocal(o *object, s *spec.Spec, opts Options) *spec.AnsibleLocal {
	a := &spec.AnsibleLocal{GalaxyCommand: "ansible-galaxy", Command: "ansible-playbook", CleanStagingDirectory: true}
	local := func(key string) string {
		p, pos, ok := o.str(key)
		if !ok || p == "" {
			return ""
		}
		d.checkLocal(p, pos, join(o.path, key), s, opts)
		return resolveLocal(p, opts.Cwd)
	}
	localList := func(key string) []string {
		list, _ := o.strList(key)
		for i, p := range list {
			d.checkLocal(p, o.n.Get(key).Value.Pos, fmt.Sprintf("%s[%d]", join(o.path, key), i), s, opts)
			list[i] = resolveLocal(p, opts.Cwd)
		}
		return list
	}
	o.exclusive("playbook_file", "playbook_files")
	if p := local("playbook_file"); p != "" {
		a.PlaybookFiles = []string{p}
	}
	if list := localList("playbook_files"); len(list) > 0 {
		a.PlaybookFiles = list
	}
	if len(a.PlaybookFiles) == 0 {
		d.errorAt(o.n.Pos, join(o.path, "playbook_file"), "ansible-local needs a playbook", `set "playbook_file" (or "playbook_files")`)
	}
	a.PlaybookDir = local("playbook_dir")
	a.PlaybookPaths = localList("playbook_paths")
	a.RolePaths = localList("role_paths")
	a.GroupVars, a.HostVars = local("group_vars"), local("host_vars")
	a.GalaxyFile = local("galaxy_file")
	a.InventoryFile = local("inventory_file")
	if v, _, ok := o.str("galaxy_command"); ok && v != "" {
		a.GalaxyCommand = v
	}
	a.GalaxyRolesPath, _, _ = o.str("galaxy_roles_path")
	a.GalaxyCollectionsPath, _, _ = o.str("galaxy_collections_path")
	a.InventoryGroups, _ = o.strList("inventory_groups")
	a.ExtraArguments, _ = o.strList("extra_arguments")
	if v, _, ok := o.str("command"); ok && v != "" {
		a.Command = v
	}
	a.StagingDirectory, _, _ = o.str("staging_directory")
	if v, ok := o.boolv("clean_staging_directory"); ok {
		a.CleanStagingDirectory = v
	}
	return a
}

func (d *decoder) ansible(o *object, s *spec.Spec, opts Options) *spec.Ansible {
	a := &spec.Ansible{Command: "ansible-playbook", HostAlias: "default", GalaxyCommand: "ansible-galaxy"}
	p, pos, ok := o.str("playbook_file")
	if !ok || p == "" {
		d.errorAt(o.n.Pos, join(o.path, "playbook_file"), "the ansible provisioner needs a playbook_file", "")
	} else {
		d.checkLocal(p, pos, join(o.path, "playbook_file"), s, opts)
		a.PlaybookFile = resolveLocal(p, opts.Cwd)
	}
	if v, _, ok := o.str("command"); ok && v != "" {
		a.Command = v
	}
	a.ExtraArguments, _ = o.strList("extra_arguments")
	a.AnsibleEnvVars, _ = o.strList("ansible_env_vars")
	a.AnsibleSSHExtraArgs, _ = o.strList("ansible_ssh_extra_args")
	a.Groups, _ = o.strList("groups")
	a.EmptyGroups, _ = o.strList("empty_groups")
	if v, _, ok := o.str("host_alias"); ok && v != "" {
		a.HostAlias = v
	}
	a.User, _, _ = o.str("user")
	a.InventoryFileTemplate, _, _ = o.str("inventory_file_template")
	if v, vpos, ok := o.str("inventory_directory"); ok && v != "" {
		d.checkLocal(v, vpos, join(o.path, "inventory_directory"), s, opts)
		a.InventoryDirectory = resolveLocal(v, opts.Cwd)
	}
	a.KeepInventoryFile, _ = o.boolv("keep_inventory_file")
	if v, vpos, ok := o.str("galaxy_file"); ok && v != "" {
		d.checkLocal(v, vpos, join(o.path, "galaxy_file"), s, opts)
		a.GalaxyFile = resolveLocal(v, opts.Cwd)
	}
	if v, _, ok := o.str("galaxy_command"); ok && v != "" {
		a.GalaxyCommand = v
	}
	a.RolesPath, _, _ = o.str("roles_path")
	a.CollectionsPath, _, _ = o.str("collections_path")
	a.SFTPCommand, _, _ = o.str("sftp_command")
	a.SkipVersionCheck, _ = o.boolv("skip_version_check")
	// Ansible connects straight to the machine, with the pinned host key:
	// Packer's SSH proxy is not needed, and not offered.
	if up, ok := o.boolv("use_proxy"); ok && up {
		d.errorAt(o.n.Get("use_proxy").KeyPos, join(o.path, "use_proxy"), "use_proxy = true is not supported: Ansible connects to the machine directly, with the build's key and pinned host key", `remove "use_proxy" (or set it to false)`)
	}
	if _, ok := o.intv("local_port"); ok {
		d.warnAt(o.n.Get("local_port").KeyPos, join(o.path, "local_port"), "local_port is ignored: it is the port of Packer's SSH proxy, which is not used", "")
	}
	if v, ok := o.boolv("ansible_winrm_use_http"); ok && v {
		d.errorAt(o.n.Get("ansible_winrm_use_http").KeyPos, join(o.path, "ansible_winrm_use_http"), "ansible_winrm_use_http needs the WinRM communicator, which Vultr builds do not use", "")
	}
	return a
}
