package template

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/vultr-image-action/vultr-image-action/internal/provision"
	"github.com/vultr-image-action/vultr-image-action/internal/schema"
)

// Every key a vultr builder or a provisioner accepts takes effect: set to a
// value other than its default, it changes the decoded model, or it is one
// of the few that only warn (and the test checks they do). A key accepted
// and ignored is the silent no-op this test exists to catch. It also checks
// that docs/templates.md names every key.
func TestEveryKeyChangesTheModel(t *testing.T) {
	t.Parallel()
	builderBase := map[string]any{"type": "vultr", "api_key": "k-123456", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "os_id": "2284", "ssh_username": "root"}
	// A value for each key that differs from its default; exclusive
	// alternatives replace their partner.
	builderValues := map[string]any{
		"name": "web", "api_key": "other-key-999", "region_id": "ord", "region_code": "ORD", "region_name": "Chicago",
		"plan_id": "vc2-2c-4gb", "plan_name": "1024 MB RAM,25 GB SSD,1.00 TB BW", "os_id": "387", "os_name": "Ubuntu 22.04 LTS x64",
		"app_id": "42", "image_id": "wordpress", "snapshot_id": "9b5ed8b8-62a3-4c7c-8b22-6d1b6b7d4a30", "snapshot_name": "golden",
		"iso_id": "9b5ed8b8-62a3-4c7c-8b22-6d1b6b7d4a31", "iso_url": "https://example.com/x.iso",
		"snapshot_description": "described", "description": "described", "instance_label": "lbl", "hostname": "h", "label": "lbl",
		"enable_ipv6": true, "ipv6": true, "enable_vpc": true, "enable_vpc2": true, "enable_private_network": true, "private_networking": true,
		"vpc_ids": []string{"vpc-1"}, "script_id": "s-1", "startup_script_id": "s-1", "ssh_key_ids": []string{"k-1"}, "sshkey_id": []string{"k-1"},
		"ssh_key_id": []string{"k-1"}, "userdata": "#cloud-config", "user_data": "#cloud-config", "tags": []string{"t"}, "tag": "t",
		"state_timeout": "3m", "boot_timeout": "3m", "shutdown_timeout": "3m", "snapshot_timeout": "3m", "shutdown_command": "poweroff",
		"keep_snapshots": 3, "keep_snapshots_prefix": "pre", "retention_dry_run": true,
		"communicator": "ssh", "ssh_username": "ubuntu", "ssh_port": 2222, "ssh_host": "192.0.2.1", "ssh_interface": "public_v6",
		"ssh_timeout": "1m", "ssh_handshake_attempts": 3, "ssh_private_key_file": "files/hello.txt", "ssh_password": "pw-123456",
		"ssh_agent_auth": true, "pause_before_connecting": "5s", "ssh_keep_alive_interval": "9s", "ssh_read_write_timeout": "9s",
		"ssh_file_transfer_method": "scp", "ssh_host_key_fingerprint": "SHA256:nThbg6kXUpJWGl7E1IGOCspRomTxdCARLviKw6E5SY8",
		"ssh_bastion_host": "b.example.com", "ssh_pty": true, "ssh_clear_authorized_keys": true,
		"temporary_key_pair_type": "rsa", "temporary_key_pair_bits": 4096,
	}
	exclusive := map[string]string{"region_code": "region_id", "region_name": "region_id", "plan_name": "plan_id", "os_name": "os_id",
		"app_id": "os_id", "image_id": "os_id", "snapshot_id": "os_id", "snapshot_name": "os_id", "iso_id": "os_id", "iso_url": "os_id"}
	// Keys that need a partner to mean anything.
	partners := map[string]map[string]any{
		"keep_snapshots_prefix": {"snapshot_description": "prefixed", "keep_snapshots": 1}, "snapshot_id": {"ssh_password": "pw-123456"},
		"snapshot_name": {"ssh_password": "pw-123456"}, "iso_id": {"ssh_password": "pw-123456"}, "iso_url": {"ssh_password": "pw-123456"},
	}
	for k, v := range map[string]any{"ssh_bastion_port": 2200, "ssh_bastion_username": "jump", "ssh_bastion_password": "bpw-123456", "ssh_bastion_private_key_file": "files/hello.txt",
		"ssh_keypair_name": "deploy", "temporary_key_pair_name": "my-temp", "ssh_ciphers": []string{"aes256-ctr"}, "ssh_key_exchange_algorithms": []string{"curve25519-sha256"},
		"ssh_certificate_file": "files/hello.txt", "ssh_wait_timeout": "7m", "ssh_disable_agent_forwarding": true,
		"ssh_bastion_agent_auth": true, "ssh_bastion_interactive": true, "ssh_bastion_certificate_file": "files/hello.txt",
		"ssh_proxy_host": "proxy.example.com", "ssh_proxy_port": 1081, "ssh_proxy_username": "pu", "ssh_proxy_password": "ppw-123456",
		"ssh_local_tunnels": []string{"8080:localhost:80"}, "ssh_remote_tunnels": []string{"9090:127.0.0.1:3128"}} {
		builderValues[k] = v
	}
	partners["ssh_bastion_host"] = map[string]any{"ssh_bastion_password": "bpw-123456"}
	bastion := map[string]any{"ssh_bastion_host": "b.example.com", "ssh_bastion_password": "bpw-123456"}
	for _, k := range []string{"ssh_bastion_port", "ssh_bastion_username", "ssh_bastion_private_key_file", "ssh_bastion_agent_auth", "ssh_bastion_interactive"} {
		partners[k] = bastion
	}
	partners["ssh_bastion_password"] = map[string]any{"ssh_bastion_host": "b.example.com", "ssh_bastion_agent_auth": true}
	partners["ssh_bastion_certificate_file"] = map[string]any{"ssh_bastion_host": "b.example.com", "ssh_bastion_private_key_file": "files/hello.txt"}
	for _, k := range []string{"ssh_keypair_name", "ssh_certificate_file"} {
		partners[k] = map[string]any{"ssh_private_key_file": "files/hello.txt"}
	}
	for _, k := range []string{"ssh_proxy_port", "ssh_proxy_username", "ssh_proxy_password"} {
		partners[k] = map[string]any{"ssh_proxy_host": "proxy.example.com"}
	}
	builderValues["keep_snapshots_prefix"] = "pre"
	partners["keep_snapshots_prefix"]["snapshot_description"] = "prefixed"
	warnOnly := []string{"temporary_key_pair_type", "temporary_key_pair_bits"}
	var refused []string                         // schema.Vultr's refusals: each fails validate, naming itself
	noEffect := []string{"type", "communicator"} // the builder's own type; "ssh" is the only communicator

	docs, err := os.ReadFile("../../docs/templates.md")
	if err != nil {
		t.Fatal(err)
	}
	documented := map[string]bool{}
	for _, m := range regexp.MustCompile("`([a-z0-9_]+)`").FindAllStringSubmatch(string(docs), -1) {
		documented[m[1]] = true
	}

	decodeJSON := func(t *testing.T, builder map[string]any, provs []map[string]any) (string, string) {
		t.Helper()
		builders := []any{builder}
		if len(provs) > 0 {
			// A second build, so only, except and override have something to choose.
			other := map[string]any{}
			for k, v := range builder {
				other[k] = v
			}
			other["name"] = "other"
			builders = append(builders, other)
		}
		tmpl := map[string]any{"builders": builders}
		if len(provs) > 0 {
			tmpl["provisioners"] = provs
		}
		b, _ := json.Marshal(tmpl)
		p := filepath.Join(t.TempDir(), "t.json")
		os.WriteFile(p, b, 0o644)
		o := goldenOptions()
		o.Cwd, _ = filepath.Abs("testdata")
		s, err := Load(p, o)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		warnings := ""
		for _, w := range s.Warnings {
			warnings += w.Error() + "\n"
		}
		s.Path, s.Dir, s.Warnings = "", "", nil
		out, _ := json.Marshal(s)
		return regexp.MustCompile(`"(Pos|End|KeyPos)":\{[^}]*\}`).ReplaceAllString(string(out), ""), warnings
	}
	base, _ := decodeJSON(t, builderBase, nil)
	sample := map[schema.Type]any{schema.String: "x-1", schema.Number: 1, schema.Bool: true, schema.Duration: "1m",
		schema.StringList: []string{"x-1"}, schema.StringMap: map[string]string{"a": "b"}, schema.NumberList: []int{1, 2}}
	for _, k := range schema.Vultr.Keys {
		key := k.Name
		if k.Refused != "" {
			refused = append(refused, key)
			if _, ok := builderValues[key]; !ok {
				builderValues[key] = sample[k.Type]
			}
		}
		if slices.Contains(noEffect, key) {
			continue
		}
		if !documented[key] {
			t.Errorf("builder key %q is not in docs/templates.md", key)
		}
		v, ok := builderValues[key]
		if !ok {
			t.Errorf("builder key %q has no sample value in this test", key)
			continue
		}
		if slices.Contains(refused, key) {
			b, _ := json.Marshal(map[string]any{"builders": []any{map[string]any{"type": "vultr", "api_key": "k-123456", "region_id": "ewr", "plan_id": "vc2-1c-1gb", "ssh_username": "root", "ssh_password": "pw-123456", key: v}}})
			p := filepath.Join(t.TempDir(), "t.json")
			os.WriteFile(p, b, 0o644)
			if _, err := Load(p, goldenOptions()); err == nil || !strings.Contains(err.Error(), key) {
				t.Errorf("builder key %q: err = %v, want a validate error that names it", key, err)
			}
			continue
		}
		b := map[string]any{}
		for k, x := range builderBase {
			b[k] = x
		}
		for k, x := range partners[key] {
			b[k] = x
		}
		withPartners := base
		if exclusive[key] == "" && key != "ssh_bastion_host" { // a bastion's credentials mean nothing without it
			withPartners, _ = decodeJSON(t, b, nil)
		}
		delete(b, exclusive[key])
		b[key] = v
		got, warnings := decodeJSON(t, b, nil)
		switch {
		case slices.Contains(warnOnly, key):
			if !strings.Contains(warnings, key) {
				t.Errorf("builder key %q changes nothing and does not warn", key)
			}
		case got == withPartners && got == base:
			t.Errorf("builder key %q = %v changes nothing in the model", key, v)
		case got == withPartners && len(partners[key]) > 0:
			t.Errorf("builder key %q = %v changes nothing beyond its partner keys", key, v)
		}
	}

	// Provisioners: each key against the provisioner without it.
	provBase := map[string]map[string]any{
		"shell":         {"type": "shell", "inline": []string{"true"}},
		"file":          {"type": "file", "source": "files/hello.txt", "destination": "/tmp/x/"},
		"shell-local":   {"type": "shell-local", "inline": []string{"true"}},
		"breakpoint":    {"type": "breakpoint"},
		"sleep":         {"type": "sleep"},
		"hcp-sbom":      {"type": "hcp-sbom", "source": "/root/sbom.json", "destination": "sbom.json"},
		"ansible-local": {"type": "ansible-local", "playbook_file": "files/hello.txt"},
		"ansible":       {"type": "ansible", "playbook_file": "files/hello.txt"},
	}
	provValues := map[string]any{
		"only": []string{"vultr"}, "except": []string{"other"}, "override": map[string]any{"vultr": map[string]any{"max_retries": 5}},
		"pause_before": "2s", "max_retries": 2, "timeout": "1m", "name": "setup", "continue_on_error": true, "tempfile_extension": ".bash", "duration": "2s",
		"auto_generate": true, "sbom_name": "web-sbom", "scan_path": "/mnt", "scanner_args": []string{"-o", "cyclonedx-json"}, "scanner_url": "https://example.com/s",
		"scanner_checksum": "abc", "elevated_user": "u", "elevated_password": "pw-123456",
		"inline": []string{"echo other"}, "script": "scripts/setup.sh", "scripts": []string{"scripts/setup.sh"}, "inline_shebang": "/bin/bash",
		"environment_vars": []string{"A=1"}, "env": map[string]string{"B": "2"}, "env_var_format": "export %s=%s; ", "use_env_var_file": true,
		"execute_command": "sh {{.Path}}", "remote_folder": "/var/tmp", "remote_file": "x.sh", "remote_path": "/root/x.sh", "skip_clean": true,
		"expect_disconnect": true, "valid_exit_codes": []int{0, 1}, "start_retry_timeout": "1m", "pause_after": "1s", "binary": true,
		"source": "files/", "sources": []string{"files/hello.txt", "scripts/setup.sh"}, "content": "c", "destination": "/tmp/y", "direction": "download", "generated": true,
		"command": "echo", "use_linux_pathing": true, "only_on": []string{"darwin"}, "disable": true, "note": "n",
		"playbook_file": "scripts/setup.sh", "playbook_files": []string{"scripts/setup.sh"}, "playbook_dir": "files", "playbook_paths": []string{"files"},
		"role_paths": []string{"files"}, "group_vars": "files", "host_vars": "files", "galaxy_file": "files/hello.txt", "galaxy_command": "galaxy2",
		"galaxy_roles_path": "/r", "galaxy_collections_path": "/c", "inventory_file": "files/hello.txt", "inventory_groups": []string{"g"},
		"extra_arguments": []string{"-v"}, "staging_directory": "/s", "clean_staging_directory": false,
		"ansible_env_vars": []string{"X=1"}, "ansible_ssh_extra_args": []string{"-4"}, "groups": []string{"g"}, "empty_groups": []string{"e"},
		"host_alias": "h", "user": "u", "local_port": 2222, "inventory_file_template": "x", "inventory_directory": "files",
		"keep_inventory_file": true, "roles_path": "/r", "collections_path": "/c", "use_proxy": false, "sftp_command": "sftp",
		"skip_version_check": true, "ansible_winrm_use_http": false,
	}
	provExclusive := map[string]string{"auto_generate": "source", "script": "inline", "scripts": "inline", "sources": "source", "content": "source", "command": "inline", "playbook_files": "playbook_file"}
	provWarnOrOff := []string{"scanner_args", "use_linux_pathing", "local_port", "use_proxy", "ansible_winrm_use_http", "generated"}
	var common []string
	for _, k := range schema.ProvisionerCommon {
		common = append(common, k.Name)
	}
	for typ, kind := range provision.Kinds {
		for _, key := range append(common, kind.Block.Accepted()...) {
			if key == "type" {
				continue
			}
			if !documented[key] {
				t.Errorf("%s key %q is not in docs/templates.md", typ, key)
			}
			v, ok := provValues[key]
			if !ok {
				t.Errorf("%s key %q has no sample value in this test", typ, key)
				continue
			}
			before, _ := decodeJSON(t, builderBase, []map[string]any{provBase[typ]})
			p := map[string]any{}
			for k, x := range provBase[typ] {
				p[k] = x
			}
			delete(p, provExclusive[key])
			if typ == "shell-local" && key == "script" {
				delete(p, "inline")
			}
			p[key] = v
			after, warnings := decodeJSON(t, builderBase, []map[string]any{p})
			if after == before && !slices.Contains(provWarnOrOff, key) && !(strings.Contains(warnings, key)) {
				t.Errorf("%s key %q = %v changes nothing in the model", typ, key, v)
			}
		}
	}
}
