package schema

// shellCommon are the keys the shell and shell-local provisioners share
// (packer-plugin-sdk's shell.Provisioner).
var shellCommon = []Key{
	{Name: "inline", Type: StringList, Origin: SDK, Doc: "commands, run as one script", OneOf: "run"},
	{Name: "script", Type: String, Origin: SDK, Doc: "a local script to run", OneOf: "run"},
	{Name: "scripts", Type: StringList, Origin: SDK, Doc: "local scripts to run, in order", OneOf: "run"},
	{Name: "inline_shebang", Type: String, Origin: SDK, Default: "`/bin/sh -e`", Doc: "the shebang of the inline script"},
	{Name: "environment_vars", Type: StringList, Origin: SDK, Doc: "`KEY=value` variables for the scripts; values holding a secret never reach a command line"},
	{Name: "env", Type: StringMap, Origin: SDK, Doc: "variables as a map (merged with environment_vars)"},
	{Name: "env_var_format", Type: String, Origin: SDK, Doc: "how one variable is written (`%s='%s' `)"},
	{Name: "valid_exit_codes", Type: NumberList, Origin: SDK, Default: "`[0]`", Doc: "exit codes that count as success"},
}

// Shell is the shell provisioner (Packer core's, v1.16.0).
var Shell = Block{ID: "shell", Name: "a shell provisioner", Keys: append(append([]Key{}, shellCommon...),
	Key{Name: "execute_command", Type: String, Origin: SDK, Default: "`chmod +x {{.Path}}; {{.Vars}} {{.Path}}`", Doc: "how the script runs (`{{.Vars}}`, `{{.Path}}`, `{{.EnvVarFile}}`)"},
	Key{Name: "binary", Type: Bool, Origin: Core, Doc: "upload scripts as they are, without converting line endings"},
	Key{Name: "remote_path", Type: String, Origin: Core, Doc: "where the script is uploaded (overrides remote_folder and remote_file)"},
	Key{Name: "remote_folder", Type: String, Origin: Core, Default: "`/tmp`", Doc: "the folder scripts are uploaded to"},
	Key{Name: "remote_file", Type: String, Origin: Core, Default: "`script_<n>.sh`", Doc: "the uploaded script's name"},
	Key{Name: "use_env_var_file", Type: Bool, Origin: Core, Default: "false", Doc: "write the variables to a file on the machine (removed on every path)"},
	Key{Name: "skip_clean", Type: Bool, Origin: Core, Default: "false", Doc: "keep the uploaded script"},
	Key{Name: "expect_disconnect", Type: Bool, Origin: Core, Default: "false", Doc: "a dropped connection (a reboot) is success"},
	Key{Name: "start_retry_timeout", Type: Duration, Origin: Core, Default: "5m", Doc: "how long to retry starting the script after a reconnect"},
	Key{Name: "pause_after", Type: Duration, Origin: Core, Doc: "wait after the scripts"},
)}

// ShellLocal is the shell-local provisioner; the post-processor has the
// same keys and keep_input_artifact.
var ShellLocal = Block{ID: "shell-local", Name: "a shell-local provisioner", Keys: append(append([]Key{}, shellCommon...),
	Key{Name: "execute_command", Type: StringList, Origin: SDK, Default: "`[\"/bin/sh\", \"-c\", \"{{.Vars}} {{.Script}}\"]`", Doc: "the command line that runs the script, one argument an item (`{{.Vars}}`, `{{.Script}}`)"},
	Key{Name: "command", Type: String, Origin: SDK, Doc: "one command, instead of inline", OneOf: "run"},
	Key{Name: "only_on", Type: StringList, Origin: SDK, Doc: "run only on these operating systems (`linux`, `darwin`, `windows`)"},
	Key{Name: "tempfile_extension", Type: String, Origin: SDK, Doc: "the extension of the temporary script (`.sh`)"},
	Key{Name: "use_linux_pathing", Type: Bool, Origin: SDK, Doc: "Windows Subsystem for Linux paths: ignored on Linux and macOS, with a warning"},
)}

// File is the file provisioner.
var File = Block{ID: "file", Name: "a file provisioner", Keys: []Key{
	{Name: "source", Type: String, Origin: Core, Doc: "a local file or directory (`dir/` copies its contents)", OneOf: "source"},
	{Name: "sources", Type: StringList, Origin: Core, Doc: "several local files", OneOf: "source"},
	{Name: "content", Type: String, Origin: Core, Doc: "the file's content, instead of a source", OneOf: "source"},
	{Name: "destination", Type: String, Origin: Core, Doc: "the path on the machine (or here, for downloads)"},
	{Name: "direction", Type: String, Origin: Core, Default: "`upload`", Doc: "`upload` or `download`"},
	{Name: "generated", Type: Bool, Origin: Core, Default: "false", Doc: "the source is made by an earlier step: not checked by validate"},
}}

// Breakpoint is the breakpoint provisioner.
var Breakpoint = Block{ID: "breakpoint", Name: "a breakpoint provisioner", Keys: []Key{
	{Name: "disable", Type: Bool, Origin: Core, Default: "false", Doc: "skip it"},
	{Name: "note", Type: String, Origin: Core, Doc: "shown while paused"},
}}

// Sleep is the sleep provisioner.
var Sleep = Block{ID: "sleep", Name: "a sleep provisioner", Keys: []Key{
	{Name: "duration", Type: Duration, Origin: Core, Default: "0s", Doc: "how long to wait (cancelled with the build)"},
}}

// HCPSBOM is Packer core's hcp-sbom provisioner: the SBOM of the machine,
// made here by reading its package databases (auto_generate), or a file
// the template made on the machine (source).
var HCPSBOM = Block{ID: "hcp-sbom", Name: "an hcp-sbom provisioner", Keys: []Key{
	{Name: "source", Type: String, Origin: Core, Doc: "an SBOM on the machine (SPDX or CycloneDX JSON, checked), downloaded; or auto_generate"},
	{Name: "auto_generate", Type: Bool, Origin: Core, Default: "false", Doc: "make the SBOM by reading the machine's package databases (dpkg, apk) over the communicator: nothing runs on the machine"},
	{Name: "destination", Type: String, Origin: Core, Doc: "where the SBOM is written here (an existing directory gets a new file)"},
	{Name: "sbom_name", Type: String, Origin: Core, Doc: "3-36 of `[A-Za-z0-9_-]`: the SBOM's name (HCP Packer's); here, the BOM's subject"},
	{Name: "scan_path", Type: String, Origin: Core, Default: "`/`", Doc: "the root whose package databases are read"},
	{Name: "scanner_args", Type: StringList, Origin: Core, Default: "`[\"-o\", \"cyclonedx-json\"]`", Doc: "`-o cyclonedx-json` (the default) or `-o spdx-json` (SPDX 2.3); anything else fails validate"},
	{Name: "scanner_url", Type: String, Origin: Core, Doc: "deprecated in Packer: no scanner is downloaded here (a warning says so)"},
	{Name: "scanner_checksum", Type: String, Origin: Core, Doc: "deprecated in Packer: no scanner is downloaded here (a warning says so)"},
	{Name: "execute_command", Type: String, Origin: Core, Doc: "how Packer runs its scanner on the machine: nothing runs there here (a warning says so)"},
	{Name: "elevated_user", Type: String, Origin: Core, Doc: "Windows only in Packer: no effect here (a warning says so)"},
	{Name: "elevated_password", Type: String, Origin: Core, Doc: "Windows only in Packer: no effect here (a warning says so); masked"},
}}

// ProvisionerCommon are the keys every provisioner block holds.
var ProvisionerCommon = []Key{
	{Name: "type", Type: String, Origin: Core, Doc: "the provisioner's type (JSON templates)"},
	{Name: "name", Type: String, Origin: Core, Doc: "a name for the provisioner, shown in the log (HCL2; also accepted in JSON)"},
	{Name: "only", Type: StringList, Origin: Core, Doc: "run only for these builds"},
	{Name: "except", Type: StringList, Origin: Core, Doc: "skip these builds"},
	{Name: "override", Type: StringMap, Origin: Core, Doc: "keys that replace these for a named build"},
	{Name: "pause_before", Type: Duration, Origin: Core, Doc: "wait before running"},
	{Name: "max_retries", Type: Number, Origin: Core, Doc: "tries after a failure"},
	{Name: "timeout", Type: Duration, Origin: Core, Doc: "fail when it runs longer"},
	{Name: "continue_on_error", Type: Bool, Origin: Core, Default: "false", Doc: "a failure is a warning, and the build goes on (Packer 1.16)"},
}

// PostProcessorCommon are the keys every post-processor block holds.
var PostProcessorCommon = []Key{
	{Name: "type", Type: String, Origin: Core, Doc: "the post-processor's type (JSON templates)"},
	{Name: "name", Type: String, Origin: Core, Doc: "a name for the post-processor"},
	{Name: "only", Type: StringList, Origin: Core, Doc: "run only for these builds"},
	{Name: "except", Type: StringList, Origin: Core, Doc: "skip these builds"},
	{Name: "keep_input_artifact", Type: Bool, Origin: Core, Doc: "keep the snapshot (a Vultr snapshot is always kept)"},
}

// Manifest is the manifest post-processor.
var Manifest = Block{ID: "manifest", Name: "a manifest post-processor", Keys: []Key{
	{Name: "output", Type: String, Origin: Core, Default: "`packer-manifest.json`", Doc: "the manifest's path"},
	{Name: "strip_path", Type: Bool, Origin: Core, Default: "false", Doc: "record file names without their directories"},
	{Name: "strip_time", Type: Bool, Origin: Core, Default: "false", Doc: "leave out build_time"},
	{Name: "custom_data", Type: StringMap, Origin: Core, Doc: "extra data for each build's entry"},
}}

// Provenance is Packer core's provenance post-processor: a signed in-toto
// SLSA statement that names the snapshot.
var Provenance = Block{ID: "provenance", Name: "a provenance post-processor", Keys: []Key{
	{Name: "provenance", Type: Bool, Origin: Core, Default: "true", Doc: "`false` skips the post-processor"},
	{Name: "build_type", Type: String, Origin: Core, Default: "`https://packer.io/buildtypes/hcl2/v1`", Doc: "the SLSA buildType"},
	{Name: "output_dir", Type: String, Origin: Core, Default: "`.`", Doc: "where the statements are written (a snapshot has no files, so the working directory, as in Packer)"},
	{Name: "template", Type: String, Origin: Core, Doc: "the template's path, recorded as an external parameter (every template file's digest is recorded anyway)"},
	{Name: "only_builds", Type: StringList, Origin: Core, Doc: "recorded as an external parameter"},
	{Name: "user_variables", Type: StringMap, Origin: Core, Doc: "more variables to record; the template's are recorded, sensitive ones redacted"},
	{Name: "source_uri", Type: String, Origin: Core, Doc: "the source's URI, instead of the one found from GITHUB_* or the Git checkout"},
	{Name: "sbom", Type: Bool, Origin: Core, Default: "false", Doc: "also attest the snapshot's SBOM: the build's hcp-sbom provisioner's, or one read from sbom_scan_path"},
	{Name: "sbom_format", Type: String, Origin: Core, Default: "`cyclonedx`", Doc: "`cyclonedx` or `spdx` (SPDX 2.3 JSON); a template's own SBOM (hcp-sbom `source`) must already be in it"},
	{Name: "sbom_scan_path", Type: String, Origin: Core, Doc: "a local root file system whose package databases (dpkg, apk) make the SBOM, instead of the hcp-sbom provisioner's"},
	{Name: "sbom_scope", Type: String, Origin: Core, Default: "`squashed`", Doc: "`squashed`: one file system; `all-layers` (container images) fails validate"},
	{Name: "sbom_exclude", Type: StringList, Origin: Core, Doc: "fails validate when set: package databases are read, not paths"},
	{Name: "signing_mode", Type: String, Origin: Core, Default: "`none`", Doc: "`none`, `key` (a PEM key) or `keyless` (Sigstore, with the job's OIDC token); `kms` fails validate"},
	{Name: "signer", Type: String, Origin: Core, Doc: "the PEM private key of `key` mode (ECDSA P-256, Ed25519 or RSA); never shown"},
	{Name: "key", Type: String, Origin: Core, Doc: "another name for signer; both set must be equal"},
	{Name: "verifier", Type: String, Origin: Core, Doc: "a PEM public key that must check the new signature (`key` mode)"},
	{Name: "fulcio_url", Type: String, Origin: Core, Default: "`https://fulcio.sigstore.dev`", Doc: "the Fulcio of `keyless` mode"},
	{Name: "rekor_url", Type: String, Origin: Core, Default: "`https://rekor.sigstore.dev`", Doc: "the Rekor of upload_tlog"},
	{Name: "upload_tlog", Type: Bool, Origin: Core, Default: "false", Doc: "record the keyless signature in Rekor (so it can be checked after the certificate's ten minutes)"},
	{Name: "trusted_root_path", Type: String, Origin: Core, Doc: "a Sigstore trusted root (JSON) to check keyless signatures with; default the public one"},
	{Name: "keyless_identity", Type: String, Origin: Core, Doc: "the certificate's expected identity (GitHub: `https://github.com/OWNER/REPO/.github/workflows/FILE@REF`); needed by `keyless`"},
	{Name: "keyless_oidc_issuer", Type: String, Origin: Core, Doc: "the expected OIDC issuer (GitHub: `https://token.actions.githubusercontent.com`); needed by `keyless`"},
}}

// VultrVerify is this tool's own post-processor: it boots an instance from
// the new snapshot, runs checks on it as a shell provisioner does, and
// destroys it; a failed check fails the build (and deletes the snapshot,
// unless on_failure = "keep").
var VultrVerify = Block{ID: "vultr-verify", Name: "a vultr-verify post-processor", Keys: append([]Key{
	{Name: "timeout", Type: Duration, Origin: Ours, Default: "`10m`", Doc: "the whole check: create, boot, SSH and the commands; past it the check fails"},
	{Name: "on_failure", Type: String, Origin: Ours, Default: "`delete`", Doc: "`delete`: a failed check deletes the snapshot; `keep`: keep it for debugging (the build still fails, naming it)"},
	{Name: "region_id", Type: String, Origin: Ours, Doc: "the region of the check's instance (default the build's)"},
	{Name: "plan_id", Type: String, Origin: Ours, Doc: "the plan of the check's instance (default the build's)"},
}, withOrigin(Shell.Keys, Ours)...)}

// withOrigin is keys with another origin.
func withOrigin(keys []Key, o Origin) []Key {
	out := append([]Key(nil), keys...)
	for i := range out {
		out[i].Origin = o
	}
	return out
}

const windowsRefused = "it runs Windows commands; Vultr images built here are Linux (this tool speaks SSH to them). Use a shell provisioner"

// RefusedProvisioners are Packer 1.16's provisioners this tool refuses by
// name, and why.
var RefusedProvisioners = map[string]string{
	"powershell":      windowsRefused,
	"windows-shell":   windowsRefused,
	"windows-restart": "it restarts Windows and waits for WinRM; for a Linux reboot use a shell provisioner with `expect_disconnect = true` (and `pause_before` on the next)",
}

// RefusedPostProcessors are Packer 1.16's post-processors this tool
// refuses by name, and why.
var RefusedPostProcessors = map[string]string{
	"checksum": "a Vultr snapshot has no local files: Packer's checksum writes nothing for it",
	"compress": "a Vultr snapshot has no local files: Packer's compress writes an empty archive and then deletes the snapshot unless keep_input_artifact is set",
	"artifice": "a Vultr snapshot has no local files to replace: to record files made by shell-local steps, list them in the manifest's custom_data",
}
