package app

import (
	"os/exec"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/decode"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
	"github.com/vultr-image-action/vultr-image-action/internal/ui"
)

// PlaceholderKey stands in for a missing API key during validation, so a
// pull request without access to secrets can still check its template.
const PlaceholderKey = "validate-placeholder-api-key"

// addSecretsBut registers secrets with red, but not the placeholder: it is
// no secret, and masking it would only add noise.
func addSecretsBut(red *redact.Redactor, placeholder string) func(...string) {
	return func(vs ...string) {
		for _, v := range vs {
			if v != placeholder {
				red.Add(v)
			}
		}
	}
}

// ValidateRequest is a template to check, as a build would load it.
type ValidateRequest struct {
	Template       string
	Vars, VarFiles []string
	Only, Except   []string
	APIKey         string // the action's api-key input; a placeholder stands in when there is none
	WorkDir        string
	SyntaxOnly     bool
	Action         *ghaction.Action
}

// validateGetenv is the environment a template is validated in: apiKey
// (the action's input), else VULTR_API_KEY, else PlaceholderKey is
// VULTR_API_KEY.
func validateGetenv(w World, apiKey string) func(string) string {
	return func(k string) string {
		v := w.Getenv(k)
		switch {
		case k != "VULTR_API_KEY":
			return v
		case apiKey != "":
			return apiKey
		case v == "":
			return PlaceholderKey
		}
		return v
	}
}

// Validate loads and checks a template without creating anything. It
// shows every warning and problem; the report is the template's model.
func Validate(w World, j ValidateRequest) (*spec.Spec, error) {
	act := j.Action
	red := NewSession(w, act, "", j.APIKey).Red
	console := ui.New(ui.Options{Out: w.Stdout, Redactor: red, Action: act, Workspace: w.Getenv("GITHUB_WORKSPACE")})
	getenv := validateGetenv(w, j.APIKey)
	cwd := j.WorkDir
	if cwd == "" {
		cwd, _ = w.Getwd()
	}
	opts := templateOptions{
		vars: j.Vars, varFiles: j.VarFiles, only: j.Only, except: j.Except,
		getenv: getenv, now: time.Now(), runUUID: newUUID(), syntaxOnly: j.SyntaxOnly, cwd: cwd, fetches: &decode.Fetches{},
		secret: addSecretsBut(red, PlaceholderKey),
	}
	s, err := loadTemplate(j.Template, opts)
	if s != nil {
		red.Add(s.Secrets...)
		for _, d := range s.Warnings {
			console.Warn("", d.Error(), d.Pos)
		}
	}
	if err != nil {
		reportTemplateError(console, err)
		return nil, &ShownError{Err: &UsageError{Err: red.Error(err)}}
	}
	warnLocalPrograms(console, s, exec.LookPath)
	if !j.SyntaxOnly {
		markVaryingDescriptions(j.Template, opts, s)
		warnRetention(console, s)
	}
	return s, nil
}

// Inspect loads a template as validate does, for `inspect`: the model,
// and the redactor that knows its secrets.
func Inspect(w World, j ValidateRequest) (*spec.Spec, *redact.Redactor, error) {
	getenv := validateGetenv(w, "")
	red := NewSession(w, nil, "").Red
	cwd, _ := w.Getwd()
	s, err := loadTemplate(j.Template, templateOptions{vars: j.Vars, varFiles: j.VarFiles, getenv: getenv, now: time.Now(), runUUID: newUUID(), cwd: cwd, secret: addSecretsBut(red, PlaceholderKey)})
	if err != nil {
		reportTemplateError(ui.New(ui.Options{Out: w.Stderr, Redactor: red}), err)
		return nil, red, &ShownError{Err: &UsageError{Err: red.Error(err)}}
	}
	red.Add(s.Secrets...)
	return s, red, nil
}
