// Package spec is the internal build model: a fully resolved, validated
// description of what to build. Template front ends (Packer JSON, HCL2)
// produce a *Spec; the build orchestration consumes only a *Spec and never
// sees template syntax.
//
// Values in a Spec are final: variables are substituted, template functions
// are evaluated, defaults are applied and legacy spellings are normalised.
// The one exception is provisioner-local placeholders such as {{.Vars}} and
// {{.Path}} in a shell provisioner's ExecuteCommand, which are rendered by
// the provisioner at run time.
package spec

import (
	"fmt"
	"time"
)

// Pos is a position in a template source file. Line and Col are 1-based; a
// zero Line means the position is unknown.
type Pos struct {
	File string `json:"file,omitempty"`
	Line int    `json:"line,omitempty"`
	Col  int    `json:"col,omitempty"`
}

// String formats the position as file:line:col, the form editors and
// GitHub's problem matchers understand.
func (p Pos) String() string {
	switch {
	case p.File == "" && p.Line == 0:
		return ""
	case p.Line == 0:
		return p.File
	default:
		return fmt.Sprintf("%s:%d:%d", p.File, p.Line, p.Col)
	}
}

// Spec is a whole template, resolved.
type Spec struct {
	// Path is the template's path as the user gave it; Dir its directory.
	Path string
	Dir  string

	Description string

	// Variables lists the template's user variables with their final values,
	// in declaration order, for `inspect`.
	Variables []Variable

	// Builds are the builds selected by -only/-except, in template order.
	Builds []Build

	// Secrets are values that must never appear in any output: the API key,
	// passwords, and the values of sensitive variables. Front ends fill it.
	Secrets []string

	// Skipped are the builds of other clouds' builders that -only or
	// -except left out: reported, never run.
	Skipped []string
	// Warnings are non-fatal diagnostics, such as deprecated keys.
	Warnings Diagnostics
}

// Variable is a user variable after resolution.
type Variable struct {
	Name      string
	Value     string
	Sensitive bool
	Pos       Pos
}

// Build is one builder instance: what to create, how to reach it, what to
// run on it and what to do with the result.
type Build struct {
	// Name is the builder's name (default: its type). Unique in a Spec.
	Name string
	// Aliases are the other names the build answers to in filters (HCL2:
	// "vultr.web", "BUILD.vultr.web").
	Aliases []string
	// Type is the builder type; always "vultr" today.
	Type string
	Pos  Pos

	Vultr        Vultr
	SSH          SSH
	Provisioners []Provisioner
	// PostProcessors is a list of sequences, as in Packer: each inner slice
	// runs in order, fed by the artifact of the build.
	PostProcessors [][]PostProcessor
	// ErrorCleanup is the error-cleanup-provisioner: it runs on the
	// machine when a provisioner fails, before cleanup.
	ErrorCleanup *Provisioner
}

// Ref names a catalogue object (region, plan, image). Either ID is a
// Vultr API v2 identifier that is used as-is, or Name must be resolved
// against the live catalogue before anything is created.
type Ref struct {
	ID   string // v2 identifier: "ord", "vc2-1c-1gb", "167", a UUID
	Name string // a name to look up: "Chicago", "Ubuntu 24.04 LTS x64"
	Key  string // the template key that set it, for messages: "region_id"
	Pos  Pos
}

// IsZero reports whether nothing was set.
func (r Ref) IsZero() bool { return r.ID == "" && r.Name == "" }

// ImageKind says which image source a build boots from.
type ImageKind string

// Image sources, one per create-instance field of the v2 API.
const (
	ImageOS       ImageKind = "os"       // os_id (int)
	ImageApp      ImageKind = "app"      // app_id (int)
	ImageMarket   ImageKind = "image"    // image_id (marketplace string)
	ImageSnapshot ImageKind = "snapshot" // snapshot_id (UUID)
	ImageISO      ImageKind = "iso"      // iso_id (UUID)
)

// Image is the image source of a build. Ref.ID holds the identifier in the
// API's own form (an os_id as decimal digits); Ref.Name a name to resolve
// (os_name, snapshot_name).
type Image struct {
	Kind ImageKind
	Ref  Ref
}

// Vultr is the vultr builder's configuration.
type Vultr struct {
	APIKey string // never logged

	Region Ref
	Plan   Ref
	Image  Image
	// KeyPair is ssh_keypair_name: an SSH key of the account, by name,
	// installed instead of a temporary key. The pre-flight finds its ID.
	KeyPair Ref

	// SnapshotDescription is the snapshot's description; InstanceLabel the
	// temporary instance's label. The front end applies the label rule
	// documented in the README ("Snapshotting: <description>" by default).
	SnapshotDescription string
	InstanceLabel       string
	Hostname            string
	// Tags are the user's tags; the build adds its own run tag.
	Tags []string

	EnableIPv6 bool
	EnableVPC  bool
	VPCIDs     []string
	ScriptID   string
	SSHKeyIDs  []string
	// UserData is the user data as bytes to send (the build base64-encodes
	// it for the API). A template value that is valid base64 is decoded by
	// the front end first, so it is never double-encoded.
	UserData []byte

	// Timeouts. StateTimeout is Packer's single knob; the three below default
	// to it when unset, except SnapshotTimeout, which is 0 when neither is
	// set: the wait then lasts as long as the disk needs
	// (vultr.SnapshotTimeout).
	StateTimeout    time.Duration
	BootTimeout     time.Duration
	ShutdownTimeout time.Duration
	SnapshotTimeout time.Duration

	// ShutdownCommand runs over SSH before the snapshot (default
	// "shutdown -P now").
	ShutdownCommand string

	// KeepSnapshots > 0 deletes older snapshots with the same description
	// after a successful build, keeping the newest KeepSnapshots.
	KeepSnapshots int
	// KeepSnapshotsPrefix, when set, makes retention match every snapshot
	// whose description starts with it, instead of the exact description
	// (for descriptions that hold a timestamp). It is a prefix of
	// SnapshotDescription.
	KeepSnapshotsPrefix string
	// VariesExample, when set, is SnapshotDescription as another run would
	// render it, and differs from it ({{timestamp}}, formatdate(), uuid):
	// an exact match then finds no earlier snapshot.
	VariesExample string
	// RetentionDryRun logs what retention would delete without deleting.
	RetentionDryRun bool
}

// SSH is the communicator configuration, with Packer's names and defaults.
type SSH struct {
	// Communicator is "ssh", or "none" (the null builder: no machine).
	Communicator string
	Username     string
	Port         int // default 22
	// Host overrides the address to dial; Interface picks it otherwise:
	// "public_v4" (default) or "public_v6".
	Host      string
	Interface string

	Timeout           time.Duration // default 5m (see Packer's rule)
	HandshakeAttempts int           // default 10 (see Packer's rule)

	PrivateKeyFile string
	Password       string // never logged
	AgentAuth      bool

	PauseBeforeConnecting time.Duration
	KeepAliveInterval     time.Duration // default 5s
	ReadWriteTimeout      time.Duration // 0 = none

	// FileTransferMethod is "sftp" (default here) or "scp".
	FileTransferMethod string
	// HostKeyFingerprint, when set, must match the server's host key
	// (OpenSSH "SHA256:..." form).
	HostKeyFingerprint string

	Bastion *Bastion
	// PTY requests a pseudo-terminal for every command (ssh_pty).
	PTY bool
	// ClearAuthorizedKeys removes the temporary public key from the SSH
	// user's authorized_keys before the snapshot (ssh_clear_authorized_keys).
	ClearAuthorizedKeys bool

	// KeyPairName is an SSH key of the account, by name, installed instead
	// of a temporary key (ssh_keypair_name); PrivateKeyFile or AgentAuth
	// logs in with it.
	KeyPairName string
	// TemporaryKeyPairName is the temporary key's comment in
	// authorized_keys (temporary_key_pair_name).
	TemporaryKeyPairName string
	// CertificateFile is an OpenSSH certificate for PrivateKeyFile.
	CertificateFile string
	// Ciphers and KeyExchanges restrict what is offered (empty: Go's
	// defaults).
	Ciphers, KeyExchanges []string
	// DisableAgentForwarding stops forwarding SSH_AUTH_SOCK's agent to
	// the machine's commands (Packer forwards it by default).
	DisableAgentForwarding bool
	// Proxy is a SOCKS5 proxy to dial through (ssh_proxy_*).
	Proxy *Proxy
	// LocalTunnels forward a port of this host to an address the machine
	// reaches; RemoteTunnels a port of the machine to an address this host
	// reaches (ssh_local_tunnels, ssh_remote_tunnels).
	LocalTunnels, RemoteTunnels []Tunnel
}

// Proxy is a SOCKS5 proxy.
type Proxy struct {
	Host     string
	Port     int // default 1080
	Username string
	Password string // never logged
}

// Tunnel is one of Packer's "port:host:hostport" forwardings; its
// listening side is localhost:Port, as in Packer.
type Tunnel struct {
	Port     int
	Host     string
	HostPort int
}

// Bastion is a jump host for instances reachable only through a VPC.
type Bastion struct {
	Host            string
	Port            int // default 22
	Username        string
	Password        string
	PrivateKeyFile  string
	CertificateFile string
	AgentAuth       bool
	// Interactive answers keyboard-interactive questions in the terminal.
	Interactive bool
}

// Provisioner is one provisioner, already filtered and overridden for its
// build.
type Provisioner struct {
	Index int    // position in the template's provisioners array
	Type  string // the kind: "shell", "file", "shell-local", ...
	Pos   Pos

	PauseBefore time.Duration
	MaxRetries  int
	Timeout     time.Duration
	// Name is the provisioner's name, shown in the log.
	Name string
	// ContinueOnError makes a failure a warning: the build goes on.
	ContinueOnError bool

	// Config is the kind's own settings, as its Decode made them: a
	// *Shell, a *ShellLocal, or a type of package provision's (which
	// declares each kind in one place).
	Config any
}

// Shell is the shell provisioner.
type Shell struct {
	Inline        []string
	Scripts       []string // "script" is normalised into Scripts
	InlineShebang string   // default "/bin/sh -e"

	EnvironmentVars []string          // "K=V"
	Env             map[string]string // wins over EnvironmentVars
	EnvVarFormat    string            // default "%s='%s' "
	UseEnvVarFile   bool

	// ExecuteCommand still holds {{.Vars}}, {{.Path}} and {{.EnvVarFile}}.
	ExecuteCommand string // default "chmod +x {{.Path}}; {{.Vars}} {{.Path}}"

	RemoteFolder string // default "/tmp"
	RemoteFile   string // default "script_<n>.sh"
	RemotePath   string // default RemoteFolder/RemoteFile

	SkipClean         bool
	ExpectDisconnect  bool
	ValidExitCodes    []int         // default [0]
	StartRetryTimeout time.Duration // default 5m
	PauseAfter        time.Duration
	Binary            bool
}

// ShellLocal runs on the machine running the build (the action's container,
// or the CLI user's machine).
type ShellLocal struct {
	Inline          []string
	Command         string
	Scripts         []string
	InlineShebang   string
	EnvironmentVars []string
	Env             map[string]string
	// ExecuteCommand is Packer's argv form, default
	// ["/bin/sh", "-c", "{{.Vars}} {{.Script}}"].
	ExecuteCommand []string
	ValidExitCodes []int
	// OnlyOn lists the operating systems (Go's GOOS: linux, darwin,
	// windows) it runs on; empty means all.
	OnlyOn []string
	// EnvVarFormat, when set, renders the variables into {{.Vars}} (those
	// holding a secret stay in the environment only).
	EnvVarFormat string
	// TempfileExtension is the inline script's extension (default ".sh").
	TempfileExtension string
}

// PostProcessor is one post-processor of a sequence.
type PostProcessor struct {
	Index int // position of its sequence in the template
	Type  string
	Pos   Pos
	Name  string // shown in the log

	KeepInputArtifact bool

	// Config is the kind's own settings, as its Decode made them (a
	// *Manifest, *ShellLocal, *Provenance or *Verify: package build
	// declares each kind in one place); nil when the block turns itself
	// off (provenance = false).
	Config any
}

// Verify is this tool's vultr-verify post-processor: the snapshot is
// booted once and checked before anyone deploys it.
type Verify struct {
	// Shell is what runs on the instance, as a shell provisioner.
	Shell   *Shell
	Timeout time.Duration // default 10m
	// Keep keeps a snapshot whose check failed (on_failure = "keep");
	// otherwise it is deleted.
	Keep bool
	// Region and Plan are the instance's; "" is the build's.
	Region, Plan string
}

// Provenance is Packer's provenance post-processor: an in-toto SLSA
// statement naming the snapshot, and with SBOM its SBOM's attestation,
// each unsigned or signed. Paths are resolved.
type Provenance struct {
	BuildType     string
	OutputDir     string
	Template      string
	OnlyBuilds    []string
	UserVariables map[string]string
	SourceURI     string
	// SBOM attests the build's SBOM: the hcp-sbom provisioner's, or the
	// one read from SBOMScanPath.
	SBOM         bool
	SBOMScanPath string
	SBOMFormat   string // "cyclonedx" or "spdx"
	// SigningMode is "none", "key" or "keyless".
	SigningMode string
	Signer      string // key mode: the private key's path
	Verifier    string // key mode: a public key that must check it
	Keyless     Keyless
}

// Keyless is keyless signing through Sigstore.
type Keyless struct {
	FulcioURL, RekorURL string
	UploadTlog          bool
	TrustedRootPath     string
	Identity, Issuer    string
}

// Manifest is Packer's manifest post-processor.
type Manifest struct {
	Output     string // default "packer-manifest.json"
	StripPath  bool
	StripTime  bool
	CustomData map[string]string
}

// DescriptionVaries reports whether SnapshotDescription changes from run
// to run.
func (v Vultr) DescriptionVaries() bool { return v.VariesExample != "" }
