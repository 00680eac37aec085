package decode

import (
	"bytes"
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/schema"

	"github.com/google/uuid"

	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/textdist"
)

// SupportedPackerVersion is the Packer version whose template language this
// tool implements (schema.PackerVersion); min_packer_version above it is an
// error.
const SupportedPackerVersion = schema.PackerVersion

// interp evaluates Packer's {{ }} template functions in strings.
type interp struct {
	vars      map[string]string
	getenv    func(string) string
	now       time.Time
	runUUID   string
	dir       string // template_dir
	cwd       string // pwd
	buildName string
	buildType string
	// allowEnv is true only while evaluating variable defaults, the one
	// place Packer allows {{env}}.
	allowEnv bool
	// data is the template data (.Vars, .Path) for provisioner-local
	// placeholders, kept as-is for run time.
	data map[string]string
}

// newInterp is the interpolation of a template at file.
func newInterp(file string, opts Options) *interp {
	return &interp{getenv: opts.Getenv, now: opts.Now, runUUID: opts.RunUUID, dir: filepath.Dir(file), cwd: opts.Cwd, vars: map[string]string{}}
}

// Defaults renders a JSON template's variable defaults, as Packer does:
// each may use {{env}} (the one place Packer allows it) and the variables
// declared before it.
type Defaults struct{ in *interp }

// NewDefaults is the rendering of the defaults of the template at file.
func NewDefaults(file string, opts Options) *Defaults {
	opts.SetDefaults()
	in := newInterp(file, opts)
	in.allowEnv = true
	return &Defaults{in: in}
}

// Set makes a variable's value known to the defaults after it.
func (d *Defaults) Set(name, value string) { d.in.vars[name] = value }

// Render renders one default.
func (d *Defaults) Render(s string) (string, error) { return d.in.render(s) }

var errEnvNotAllowed = errors.New("{{env}} can only be used in variable defaults; define a variable whose default is {{env `NAME`}} and use {{user `name`}} here")

// isotimeDefault is Packer's default isotime layout (RFC 3339 in UTC).
const isotimeDefault = "2006-01-02T15:04:05Z07:00"

func (in *interp) funcs() texttemplate.FuncMap {
	return texttemplate.FuncMap{
		"user": func(name string) (string, error) {
			v, ok := in.vars[name]
			if !ok {
				return "", fmt.Errorf("variable %q is not defined in \"variables\"%s", name, textdist.DidYouMean(name, keysOf(in.vars)))
			}
			return v, nil
		},
		"env": func(name string) (string, error) {
			if !in.allowEnv {
				return "", errEnvNotAllowed
			}
			return in.getenv(name), nil
		},
		"timestamp": func() string { return strconv.FormatInt(in.now.Unix(), 10) },
		"isotime": func(layout ...string) (string, error) {
			switch len(layout) {
			case 0:
				return in.now.UTC().Format(isotimeDefault), nil
			case 1:
				return in.now.UTC().Format(layout[0]), nil
			default:
				return "", errors.New("isotime takes at most one layout argument")
			}
		},
		"uuid":           func() string { return newUUID() },
		"build_name":     func() string { return in.buildName },
		"build_type":     func() string { return in.buildType },
		"packer_version": func() string { return SupportedPackerVersion },
		// {{build `Host`}}: known at provision time only (see spec.BuildVars).
		"build": func(name string) (string, error) {
			if name == "PackerRunUUID" {
				return in.runUUID, nil
			}
			if !slices.Contains(spec.BuildVars, name) {
				return "", fmt.Errorf("build %q: not a build variable; valid names: %s", name, strings.Join(spec.BuildVars, ", "))
			}
			return spec.BuildVarPlaceholder(name), nil
		},
		"lower": strings.ToLower,
		"upper": strings.ToUpper,
		// Packer's replace takes (old, new, n, s) and replace_all (old, new, s).
		"replace":     func(old, new string, n int, s string) string { return strings.Replace(s, old, new, n) },
		"replace_all": func(old, new, s string) string { return strings.ReplaceAll(s, old, new) },
		"split": func(s, sep string, i int) (string, error) {
			parts := strings.Split(s, sep)
			if i < 0 || i >= len(parts) {
				return "", fmt.Errorf("split: index %d out of range: %q has %d parts", i, s, len(parts))
			}
			return parts[i], nil
		},
		"clean_resource_name": cleanResourceName,
		"pwd":                 func() (string, error) { return in.cwd, nil },
		"template_dir": func() (string, error) {
			abs, err := filepath.Abs(in.dir)
			if err != nil {
				return "", fmt.Errorf("template_dir: %w", err)
			}
			return abs, nil
		},
	}
}

var invalidResourceChars = regexp.MustCompile(`[^a-z0-9-]+`)

// cleanResourceName is Packer's: lower case, invalid characters to "-",
// at most 63 characters.
func cleanResourceName(s string) string {
	s = invalidResourceChars.ReplaceAllString(strings.ToLower(s), "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return s
}

// render evaluates s. Strings without "{{" are returned as they are.
func (in *interp) render(s string) (string, error) {
	if !strings.Contains(s, "{{") {
		return s, nil
	}
	t, err := texttemplate.New("value").Funcs(in.funcs()).Option("missingkey=error").Parse(s)
	if err != nil {
		return "", cleanTemplateError(err)
	}
	var data any
	if in.data != nil {
		data = in.data
	}
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return "", cleanTemplateError(err)
	}
	return b.String(), nil
}

// cleanTemplateError drops text/template's internal prefix
// ("template: value:1:2: executing ...") to keep the user's message.
func cleanTemplateError(err error) error {
	msg := err.Error()
	if i := strings.Index(msg, "error calling "); i >= 0 {
		rest := msg[i+len("error calling "):]
		if j := strings.Index(rest, ": "); j >= 0 {
			return errors.New(rest[j+2:])
		}
	}
	msg = strings.TrimPrefix(msg, "template: value:")
	return fmt.Errorf("template function error: %s", msg)
}

// newUUID is a random (version 4) UUID.
func newUUID() string { return uuid.NewString() }

func keysOf(m map[string]string) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
