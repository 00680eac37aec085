package provision

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/schema"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// --- ansible-local: the playbook runs on the machine --------------------

// AnsibleLocal is Packer's ansible-local provisioner: the playbook runs on
// the machine. Local paths are resolved; remote ones are as written.
type AnsibleLocal struct {
	PlaybookFiles         []string // playbook_file, or playbook_files
	PlaybookDir           string
	PlaybookPaths         []string
	RolePaths             []string
	GroupVars, HostVars   string
	GalaxyFile            string
	GalaxyCommand         string // default "ansible-galaxy"
	GalaxyRolesPath       string
	GalaxyCollectionsPath string
	InventoryFile         string
	InventoryGroups       []string
	ExtraArguments        []string
	Command               string // default "ansible-playbook"
	StagingDirectory      string // default /tmp/packer-provisioner-ansible-local/<uuid>
	CleanStagingDirectory bool   // default true here (Packer: false)
}

var ansibleLocalKind = Kind{
	Block:  &schema.AnsibleLocal,
	Decode: func(f Fields) any { return decodeAnsibleLocal(f) },
	Run:    runAs(runAnsibleLocal),
}

func decodeAnsibleLocal(f Fields) *AnsibleLocal {
	a := &AnsibleLocal{GalaxyCommand: "ansible-galaxy", Command: "ansible-playbook", CleanStagingDirectory: true}
	local := func(key string) string {
		p, ok := f.String(key)
		if !ok || p == "" {
			return ""
		}
		return f.Local(key, -1, p, true)
	}
	localList := func(key string) []string {
		list, _ := f.Strings(key)
		for i, p := range list {
			list[i] = f.Local(key, i, p, true)
		}
		return list
	}
	if p := local("playbook_file"); p != "" {
		a.PlaybookFiles = []string{p}
	}
	if list := localList("playbook_files"); len(list) > 0 {
		a.PlaybookFiles = list
	}
	if len(a.PlaybookFiles) == 0 {
		f.Missing("playbook_file", "ansible-local needs a playbook", `set "playbook_file" (or "playbook_files")`)
	}
	a.PlaybookDir = local("playbook_dir")
	a.PlaybookPaths = localList("playbook_paths")
	a.RolePaths = localList("role_paths")
	a.GroupVars, a.HostVars = local("group_vars"), local("host_vars")
	a.GalaxyFile = local("galaxy_file")
	a.InventoryFile = local("inventory_file")
	if v, ok := f.String("galaxy_command"); ok && v != "" {
		a.GalaxyCommand = v
	}
	a.GalaxyRolesPath, _ = f.String("galaxy_roles_path")
	a.GalaxyCollectionsPath, _ = f.String("galaxy_collections_path")
	a.InventoryGroups, _ = f.Strings("inventory_groups")
	a.ExtraArguments, _ = f.Strings("extra_arguments")
	if v, ok := f.String("command"); ok && v != "" {
		a.Command = v
	}
	a.StagingDirectory, _ = f.String("staging_directory")
	if v, ok := f.Bool("clean_staging_directory"); ok {
		a.CleanStagingDirectory = v
	}
	return a
}

// runAnsibleLocal uploads the playbooks, roles, vars and inventory to a
// staging directory on the machine, installs Galaxy requirements, and runs
// ansible-playbook there with the local connection, streaming its output.
// The staging directory is removed afterwards unless the template keeps
// it (clean_staging_directory = false).
func runAnsibleLocal(ctx context.Context, a *AnsibleLocal, env *Env) error {
	staging := a.StagingDirectory
	if staging == "" {
		staging = "/tmp/packer-provisioner-ansible-local/" + randomHex()
	}
	// Only the SSH user may read what is staged (vars files may hold
	// secrets). Its removal is registered like a script's: a staging
	// directory that cannot be removed fails the provisioner, and no image
	// is made of the machine.
	if err := env.Comm.Run(ctx, "umask 077 && mkdir -p "+quote(staging)+" && chmod 0700 "+quote(staging), nil, env.Stdout, env.Stderr); err != nil {
		return fmt.Errorf("create the staging directory %s: %w", staging, err)
	}
	if a.CleanStagingDirectory {
		env.removeLater(staging)
	}
	up := func(what, src, dst string) error {
		env.Logf("Uploading %s %s", what, src)
		fi, err := os.Stat(src)
		if err != nil {
			return fmt.Errorf("%s %s: %w", what, src, err)
		}
		if fi.IsDir() {
			err = env.Comm.UploadDir(ctx, src+"/", dst)
		} else {
			err = env.Comm.UploadFile(ctx, src, dst)
		}
		if err != nil {
			return fmt.Errorf("upload %s %s: %w", what, src, err)
		}
		return nil
	}
	if a.PlaybookDir != "" {
		if err := up("playbook directory", a.PlaybookDir, staging); err != nil {
			return err
		}
	}
	var playbooks []string
	for _, p := range a.PlaybookFiles {
		if rel, ok := inside(a.PlaybookDir, p); ok {
			playbooks = append(playbooks, path.Join(staging, rel))
			continue
		}
		dst := path.Join(staging, filepath.Base(p))
		if err := up("playbook", p, dst); err != nil {
			return err
		}
		playbooks = append(playbooks, dst)
	}
	for _, p := range a.PlaybookPaths {
		if err := up("playbook path", p, path.Join(staging, filepath.Base(p))); err != nil {
			return err
		}
	}
	for _, r := range a.RolePaths {
		if err := up("role", r, path.Join(staging, "roles", filepath.Base(r))); err != nil {
			return err
		}
	}
	for what, p := range map[string]string{"group_vars": a.GroupVars, "host_vars": a.HostVars} {
		if p != "" {
			if err := up(what, p, path.Join(staging, what)); err != nil {
				return err
			}
		}
	}
	inventory := path.Join(staging, "packer-provisioner-ansible-local.inventory")
	if a.InventoryFile != "" {
		inventory = path.Join(staging, filepath.Base(a.InventoryFile))
		if err := up("inventory", a.InventoryFile, inventory); err != nil {
			return err
		}
	} else {
		body := localInventory(a.InventoryGroups)
		if err := env.Comm.Upload(ctx, inventory, strings.NewReader(body), 0o644, int64(len(body))); err != nil {
			return fmt.Errorf("upload the inventory: %w", err)
		}
	}
	if a.GalaxyFile != "" {
		if err := galaxyRemote(ctx, a, staging, env, up); err != nil {
			return err
		}
	}
	for _, pb := range playbooks {
		env.Logf("Executing Ansible: %s", path.Base(pb))
		cmd := fmt.Sprintf("cd %s && ANSIBLE_FORCE_COLOR=1 PYTHONUNBUFFERED=1 %s %s --extra-vars %s -c local -i %s",
			quote(staging), a.Command, quote(pb), quote(buildExtraVars(env)), quote(inventory))
		if len(a.ExtraArguments) > 0 {
			// As in Packer: the arguments join the shell command as
			// written, so "--extra-vars \"a=1 b=2\"" is one argument there.
			cmd += " " + strings.Join(a.ExtraArguments, " ")
		}
		if err := env.Comm.Run(ctx, cmd, nil, env.Stdout, env.Stderr); err != nil {
			if status, ok := exitStatus(err); ok {
				return fmt.Errorf("ansible-playbook %s exited with status %d", path.Base(pb), status)
			}
			return fmt.Errorf("run ansible-playbook on the machine: %w", err)
		}
	}
	return nil
}

// galaxyRemote installs a Galaxy requirements file on the machine.
func galaxyRemote(ctx context.Context, a *AnsibleLocal, staging string, env *Env, up func(what, src, dst string) error) error {
	req := path.Join(staging, filepath.Base(a.GalaxyFile))
	if err := up("galaxy file", a.GalaxyFile, req); err != nil {
		return err
	}
	roles := a.GalaxyRolesPath
	if roles == "" {
		roles = path.Join(staging, "roles")
	}
	cmd := fmt.Sprintf("cd %s && %s install -r %s -p %s", quote(staging), a.GalaxyCommand, quote(req), quote(roles))
	if a.GalaxyCollectionsPath != "" {
		cmd += fmt.Sprintf(" && %s collection install -r %s -p %s", a.GalaxyCommand, quote(req), quote(a.GalaxyCollectionsPath))
	}
	env.Logf("Installing Galaxy requirements from %s", filepath.Base(a.GalaxyFile))
	if err := env.Comm.Run(ctx, cmd, nil, env.Stdout, env.Stderr); err != nil {
		return fmt.Errorf("install Galaxy requirements on the machine: %w", err)
	}
	return nil
}

// localInventory is the inventory of ansible-local: this machine, in each
// of the groups.
func localInventory(groups []string) string {
	if len(groups) == 0 {
		return "127.0.0.1\n"
	}
	var b strings.Builder
	for _, g := range groups {
		fmt.Fprintf(&b, "[%s]\n127.0.0.1\n\n", g)
	}
	return b.String()
}

// buildExtraVars are the variables Packer gives every playbook.
func buildExtraVars(env *Env) string {
	return fmt.Sprintf("packer_build_name=%s packer_builder_type=%s packer_http_addr=", env.BuildName, env.BuilderType)
}

// inside reports whether p is inside dir, and its path from there.
func inside(dir, p string) (string, bool) {
	if dir == "" {
		return "", false
	}
	rel, err := filepath.Rel(dir, p)
	if err != nil || rel == ".." || strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
		return "", false
	}
	return filepath.ToSlash(rel), true
}

func randomHex() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// --- ansible: the playbook runs here and reaches the machine -------------

// Ansible is Packer's ansible provisioner: the playbook runs on the build
// host and reaches the machine over SSH.
type Ansible struct {
	PlaybookFile          string
	Command               string // default "ansible-playbook"
	ExtraArguments        []string
	AnsibleEnvVars        []string
	AnsibleSSHExtraArgs   []string
	Groups, EmptyGroups   []string
	HostAlias             string // default "default"
	User                  string // default: the communicator's
	InventoryFileTemplate string
	InventoryDirectory    string
	KeepInventoryFile     bool
	GalaxyFile            string
	GalaxyCommand         string
	RolesPath             string
	CollectionsPath       string
	SFTPCommand           string
	SkipVersionCheck      bool
}

var ansibleKind = Kind{
	Block:  &schema.Ansible,
	Decode: func(f Fields) any { return decodeAnsible(f) },
	// Its own ssh reaches the machine directly or through the bastion:
	// never silently around the build's proxy.
	Check: func(b *spec.Build) (string, string) {
		if b.SSH.Proxy == nil {
			return "", ""
		}
		return fmt.Sprintf("the ansible provisioner cannot reach build %s's machine through ssh_proxy_host: its OpenSSH would go around the proxy", b.Name),
			"use ansible-local (the playbook runs on the machine), or reach the machine through ssh_bastion_host"
	},
	Run: runAs(runAnsible),
}

func decodeAnsible(f Fields) *Ansible {
	a := &Ansible{Command: "ansible-playbook", HostAlias: "default", GalaxyCommand: "ansible-galaxy"}
	if p, ok := f.String("playbook_file"); !ok || p == "" {
		f.Missing("playbook_file", "the ansible provisioner needs a playbook_file", "")
	} else {
		a.PlaybookFile = f.Local("playbook_file", -1, p, true)
	}
	if v, ok := f.String("command"); ok && v != "" {
		a.Command = v
	}
	a.ExtraArguments, _ = f.Strings("extra_arguments")
	a.AnsibleEnvVars, _ = f.Strings("ansible_env_vars")
	a.AnsibleSSHExtraArgs, _ = f.Strings("ansible_ssh_extra_args")
	a.Groups, _ = f.Strings("groups")
	a.EmptyGroups, _ = f.Strings("empty_groups")
	if v, ok := f.String("host_alias"); ok && v != "" {
		a.HostAlias = v
	}
	a.User, _ = f.String("user")
	a.InventoryFileTemplate, _ = f.String("inventory_file_template")
	if v, ok := f.String("inventory_directory"); ok && v != "" {
		a.InventoryDirectory = f.Local("inventory_directory", -1, v, true)
	}
	a.KeepInventoryFile, _ = f.Bool("keep_inventory_file")
	if v, ok := f.String("galaxy_file"); ok && v != "" {
		a.GalaxyFile = f.Local("galaxy_file", -1, v, true)
	}
	if v, ok := f.String("galaxy_command"); ok && v != "" {
		a.GalaxyCommand = v
	}
	a.RolesPath, _ = f.String("roles_path")
	a.CollectionsPath, _ = f.String("collections_path")
	a.SFTPCommand, _ = f.String("sftp_command")
	a.SkipVersionCheck, _ = f.Bool("skip_version_check")
	// Ansible connects straight to the machine, with the pinned host key:
	// Packer's SSH proxy is not needed, and not offered.
	if up, ok := f.Bool("use_proxy"); ok && up {
		f.BadKey("use_proxy", "use_proxy = true is not supported: Ansible connects to the machine directly, with the build's key and pinned host key", `remove "use_proxy" (or set it to false)`)
	}
	if _, ok := f.Int("local_port"); ok {
		f.Warn("local_port", "local_port is ignored: it is the port of Packer's SSH proxy, which is not used", "")
	}
	if v, ok := f.Bool("ansible_winrm_use_http"); ok && v {
		f.BadKey("ansible_winrm_use_http", "ansible_winrm_use_http needs the WinRM communicator, which Vultr builds do not use", "")
	}
	return a
}

// ErrNoAnsible is a missing ansible-playbook (or galaxy) on this machine.
var ErrNoAnsible = errors.New("ansible-playbook is not installed here")

// defaultInventory is Packer's inventory line for the machine.
const defaultInventory = "{{ .HostAlias }} ansible_host={{ .Host }} ansible_user={{ .User }} ansible_port={{ .Port }}\n"

// runAnsible runs ansible-playbook on this machine against the build's
// machine, directly (no SSH proxy): a generated inventory, the temporary
// key in a 0600 file, and a known_hosts with the pinned host key, so
// Ansible never trusts on first use. Every file it writes is removed
// afterwards (the inventory is kept with keep_inventory_file).
func runAnsible(ctx context.Context, a *Ansible, env *Env) error {
	bin := strings.Fields(a.Command)
	if len(bin) == 0 {
		bin = []string{"ansible-playbook"}
	}
	if _, err := exec.LookPath(bin[0]); err != nil {
		return fmt.Errorf("%w (%s: %v); install Ansible on this runner (in the action, use the setup action and run vultr-image-action on the runner)", ErrNoAnsible, bin[0], err)
	}
	m := env.Machine
	if m.KeyPEM == "" && m.KeyFile == "" {
		return errors.New("the ansible provisioner needs a key for the machine: the build's temporary key (an OS or app image) or ssh_private_key_file")
	}
	if m.HostKey == "" {
		return errors.New("the ansible provisioner needs the machine's host key, which is pinned when SSH connects")
	}
	dir, err := os.MkdirTemp("", "via-ansible-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	keyFile := m.KeyFile
	if m.KeyPEM != "" {
		keyFile = filepath.Join(dir, "key")
		if err := os.WriteFile(keyFile, []byte(m.KeyPEM), 0o600); err != nil {
			return err
		}
	}
	knownHosts := filepath.Join(dir, "known_hosts")
	known := knownHostsLine(m.Host, m.Port, m.HostKey)
	proxy, err := bastionProxy(m.Bastion, knownHosts)
	if err != nil {
		return err
	}
	if b := m.Bastion; b != nil {
		known += knownHostsLine(b.Host, b.Port, b.HostKey)
	}
	if err := os.WriteFile(knownHosts, []byte(known), 0o600); err != nil {
		return err
	}
	inventory, err := writeInventory(a, m, dir)
	if err != nil {
		return err
	}
	if a.KeepInventoryFile {
		env.Logf("Keeping the inventory %s (keep_inventory_file)", inventory)
	} else {
		defer os.Remove(inventory)
	}
	environ := ansibleEnviron(a, env, knownHosts, proxy)
	if a.GalaxyFile != "" {
		if err := galaxyLocal(ctx, a, env, dir, environ); err != nil {
			return err
		}
		environ = append(environ, "ANSIBLE_ROLES_PATH="+rolesPath(a, dir))
	}
	args := append(bin[1:], a.PlaybookFile, "-e", buildExtraVars(env), "--private-key", keyFile, "-i", inventory)
	args = append(args, a.ExtraArguments...)
	env.Logf("Executing Ansible: %s", filepath.Base(a.PlaybookFile))
	cmd := exec.CommandContext(ctx, bin[0], args...)
	cmd.Env, cmd.Dir = environ, env.WorkDir
	cmd.Stdout, cmd.Stderr = env.Stdout, env.Stderr
	killGroupOnCancel(cmd)
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			return fmt.Errorf("ansible-playbook %s exited with status %d", filepath.Base(a.PlaybookFile), exit.ExitCode())
		}
		return fmt.Errorf("run ansible-playbook: %w", err)
	}
	return nil
}

// writeInventory writes the inventory: Packer's line (or the template's
// inventory_file_template) in each group, and the empty groups.
func writeInventory(a *Ansible, m MachineAccess, dir string) (string, error) {
	user := a.User
	if user == "" {
		user = m.User
	}
	tmpl := a.InventoryFileTemplate
	if tmpl == "" {
		tmpl = defaultInventory
	}
	t, err := template.New("inventory").Parse(tmpl)
	if err != nil {
		return "", fmt.Errorf("inventory_file_template: %w", err)
	}
	var line bytes.Buffer
	data := map[string]string{"HostAlias": a.HostAlias, "Host": m.Host, "User": user, "Port": strconv.Itoa(m.Port), "ID": m.ID}
	if err := t.Execute(&line, data); err != nil {
		return "", fmt.Errorf("inventory_file_template: %w", err)
	}
	var b strings.Builder
	if a.InventoryFileTemplate != "" || len(a.Groups) == 0 {
		b.WriteString(line.String())
	}
	if a.InventoryFileTemplate == "" {
		for _, g := range a.Groups {
			fmt.Fprintf(&b, "[%s]\n%s\n", g, line.String())
		}
	}
	for _, g := range a.EmptyGroups {
		fmt.Fprintf(&b, "[%s]\n\n", g)
	}
	where := dir
	switch {
	case a.InventoryDirectory != "":
		where = a.InventoryDirectory
	case a.KeepInventoryFile:
		where = os.TempDir() // dir, with the key, is removed
	}
	f, err := os.CreateTemp(where, "packer-provisioner-ansible*.inventory")
	if err != nil {
		return "", err
	}
	defer f.Close()
	if _, err := f.WriteString(b.String()); err != nil {
		return "", err
	}
	return f.Name(), nil
}

// knownHostsLine is a known_hosts line for host:port.
func knownHostsLine(host string, port int, key string) string {
	pattern := host
	if port != 22 && port != 0 {
		pattern = "[" + host + "]:" + strconv.Itoa(port)
	}
	return pattern + " " + key + "\n"
}

// plainWord is a user or host name that is safe in a shell command.
var plainWord = regexp.MustCompile(`^[A-Za-z0-9._:-]+$`)

// bastionProxy is the ssh option that reaches the machine through the
// build's bastion, as the build does: OpenSSH's ProxyCommand, with the
// bastion's own key (or the agent) and the host key the build pinned.
// "" without a bastion.
func bastionProxy(b *BastionAccess, knownHosts string) (string, error) {
	if b == nil {
		return "", nil
	}
	switch {
	case b.HostKey == "":
		return "", errors.New("the ansible provisioner needs the bastion's host key, which is pinned when the build connects through it")
	case b.KeyFile == "" && !b.AgentAuth:
		what := "no ssh_bastion_private_key_file"
		if b.HasPassword {
			what = "only ssh_bastion_password, which OpenSSH cannot be given"
		}
		return "", fmt.Errorf("the ansible provisioner reaches the machine through the bastion %s with OpenSSH, and the template gives %s; set ssh_bastion_private_key_file (or ssh_bastion_agent_auth)", b.Host, what)
	}
	port := b.Port
	if port == 0 {
		port = 22
	}
	// The ProxyCommand is split by Ansible (shlex), run by sh, and
	// expanded by ssh (%): what goes into it must be plain.
	for what, v := range map[string]string{"ssh_bastion_username": b.User, "ssh_bastion_host": b.Host} {
		if !plainWord.MatchString(v) {
			return "", fmt.Errorf("%s %q: the ansible provisioner passes it to OpenSSH in a shell command; use letters, digits, '.', '-', '_' and ':' only", what, v)
		}
	}
	for what, v := range map[string]string{"ssh_bastion_private_key_file": b.KeyFile, "ssh_bastion_certificate_file": b.CertificateFile} {
		if strings.ContainsAny(v, "'\"$`\\%") {
			return "", fmt.Errorf("%s %q: the ansible provisioner passes it to OpenSSH in a shell command; use a path without quotes, $, `, %% or \\", what, v)
		}
	}
	jump := fmt.Sprintf(`ssh -o UserKnownHostsFile="%s" -o StrictHostKeyChecking=yes -o BatchMode=yes -p %d -W [%%h]:%%p`, knownHosts, port)
	if b.KeyFile != "" {
		jump += ` -o IdentitiesOnly=yes -i "` + b.KeyFile + `"`
	}
	if b.CertificateFile != "" {
		jump += ` -o CertificateFile="` + b.CertificateFile + `"`
	}
	return "-o 'ProxyCommand=" + jump + " " + b.User + "@" + b.Host + "'", nil
}

// ansibleEnviron is the environment of ansible-playbook: ours, strict host
// key checking against the pinned key (and the bastion's), and the
// template's variables.
func ansibleEnviron(a *Ansible, env *Env, knownHosts, proxy string) []string {
	sshArgs := "-o UserKnownHostsFile=" + knownHosts + " -o StrictHostKeyChecking=yes -o IdentitiesOnly=yes -o ControlMaster=auto -o ControlPersist=15s"
	if proxy != "" {
		sshArgs += " " + proxy
	}
	for _, x := range a.AnsibleSSHExtraArgs {
		sshArgs += " " + x
	}
	out := append([]string{}, env.LocalEnviron...)
	out = append(out, "ANSIBLE_HOST_KEY_CHECKING=True", "ANSIBLE_SSH_ARGS="+sshArgs, "ANSIBLE_FORCE_COLOR=1", "PYTHONUNBUFFERED=1")
	if a.CollectionsPath != "" {
		out = append(out, "ANSIBLE_COLLECTIONS_PATH="+a.CollectionsPath)
	}
	if a.SFTPCommand != "" {
		out = append(out, "ANSIBLE_SFTP_EXECUTABLE="+a.SFTPCommand)
	}
	return append(out, a.AnsibleEnvVars...)
}

func rolesPath(a *Ansible, dir string) string {
	if a.RolesPath != "" {
		return a.RolesPath
	}
	return filepath.Join(dir, "roles")
}

// galaxyLocal installs a Galaxy requirements file on this machine.
func galaxyLocal(ctx context.Context, a *Ansible, env *Env, dir string, environ []string) error {
	args := []string{"install", "-r", a.GalaxyFile, "-p", rolesPath(a, dir)}
	cmd := exec.CommandContext(ctx, a.GalaxyCommand, args...)
	cmd.Env, cmd.Dir = environ, env.WorkDir
	cmd.Stdout, cmd.Stderr = env.Stdout, env.Stderr
	killGroupOnCancel(cmd)
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("install Galaxy requirements with %s: %w", a.GalaxyCommand, err)
	}
	return nil
}
