package attest

import (
	"context"
	"fmt"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Input is what a provenance statement records about one build.
type Input struct {
	BuildType              string // default DefaultBuildType
	BuildName, BuilderType string
	Snapshot               SnapshotRecord
	// Template and OnlyBuilds are the post-processor's template and
	// only_builds keys; Variables are the user variables, sensitive ones
	// already redacted.
	Template   string
	OnlyBuilds []string
	Variables  map[string]string
	// Files are the template's files, each with its digest.
	Files []ResolvedDependency
	// SourceURI overrides the detected source's URI.
	SourceURI string
	// SBOM, when set, is the SBOM byproduct (name and digest).
	SBOM *Byproduct

	Getenv        func(string) string
	WorkDir       string
	ToolVersion   string
	PackerVersion string
	InvocationID  string // default GITHUB_RUN_ID or the like
	Started       time.Time
	Finished      time.Time
}

// ProvenanceStatement is Packer's provenance statement for a snapshot,
// with what this tool adds: the template's files and their digests, the
// Vultr snapshot's record, the GitHub run, and the SBOM's digest.
func ProvenanceStatement(ctx context.Context, in Input) Statement {
	ext := map[string]any{}
	if in.Template != "" {
		ext["template"] = in.Template
	}
	if len(in.OnlyBuilds) > 0 {
		ext["onlyBuilds"] = in.OnlyBuilds
	}
	if len(in.Variables) > 0 {
		ext["userVariables"] = in.Variables
	}
	internal := map[string]any{
		"packerVersion":     in.PackerVersion,
		"packerBuildName":   in.BuildName,
		"packerBuilderType": in.BuilderType,
	}
	if gh := githubRun(in.Getenv); len(gh) > 0 {
		internal["github"] = gh
	}
	var deps []ResolvedDependency
	if d, ok := gitDependency(ctx, in.WorkDir, in.Getenv); ok || in.SourceURI != "" {
		if in.SourceURI != "" {
			d.URI = in.SourceURI
		}
		deps = append(deps, d)
	}
	deps = append(deps, in.Files...)
	id := in.InvocationID
	if id == "" {
		id = firstEnv(in.Getenv, "GITHUB_RUN_ID", "CI_PIPELINE_ID", "CI_JOB_ID", "BUILD_ID")
	}
	if id == "" {
		id = uuid.NewString() // as Packer does without a CI run
	}
	by := []Byproduct{IdentityByproductFor(VultrBuilderID, in.Snapshot.ID), {Name: SnapshotByproduct, Content: in.Snapshot}}
	if in.SBOM != nil {
		by = append(by, *in.SBOM)
	}
	pred := Provenance{
		BuildDefinition: BuildDefinition{BuildType: orDefault(in.BuildType, DefaultBuildType), ExternalParameters: ext, InternalParameters: internal, ResolvedDependencies: deps},
		RunDetails: RunDetails{
			Builder:    Builder{ID: orDefault(firstEnv(in.Getenv, "GITHUB_WORKFLOW_REF", "CI_JOB_URL", "CI_PIPELINE_URL", "BUILD_URL"), LocalBuilderID), Version: map[string]string{"packer": in.PackerVersion, "vultr-image-action": in.ToolVersion}},
			Metadata:   Metadata{InvocationID: id, StartedOn: rfc3339(in.Started), FinishedOn: rfc3339(in.Finished)},
			Byproducts: by,
		},
	}
	return Wrap([]Subject{CloudSubject(VultrBuilderID, in.Snapshot.ID)}, SLSAProvenanceV1, pred)
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

func firstEnv(getenv func(string) string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(getenv(k)); v != "" {
			return v
		}
	}
	return ""
}

// githubRun is the GitHub Actions run, as SLSA's GitHub build type
// records it.
func githubRun(getenv func(string) string) map[string]string {
	out := map[string]string{}
	for k, env := range map[string]string{
		"repository": "GITHUB_REPOSITORY", "sha": "GITHUB_SHA", "ref": "GITHUB_REF", "workflowRef": "GITHUB_WORKFLOW_REF",
		"runId": "GITHUB_RUN_ID", "runAttempt": "GITHUB_RUN_ATTEMPT", "eventName": "GITHUB_EVENT_NAME",
		"runnerName": "RUNNER_NAME", "runnerOs": "RUNNER_OS", "runnerArch": "RUNNER_ARCH", "runnerEnvironment": "RUNNER_ENVIRONMENT",
	} {
		if v := strings.TrimSpace(getenv(env)); v != "" {
			out[k] = v
		}
	}
	return out
}

// gitDependency is the source, found as Packer finds it: GitHub's
// variables, GitLab's, then the Git checkout of the working directory.
func gitDependency(ctx context.Context, dir string, getenv func(string) string) (ResolvedDependency, bool) {
	if repo, sha := getenv("GITHUB_REPOSITORY"), getenv("GITHUB_SHA"); repo != "" && sha != "" {
		server := strings.TrimRight(orDefault(getenv("GITHUB_SERVER_URL"), "https://github.com"), "/")
		uri := fmt.Sprintf("git+%s/%s", server, strings.TrimLeft(repo, "/"))
		if ref := getenv("GITHUB_REF"); ref != "" {
			uri += "@" + ref
		}
		return ResolvedDependency{URI: uri, Digest: DigestSet{"gitCommit": sha}}, true
	}
	if proj, sha := getenv("CI_PROJECT_URL"), getenv("CI_COMMIT_SHA"); proj != "" && sha != "" {
		uri := "git+" + strings.TrimRight(proj, "/")
		if ref := getenv("CI_COMMIT_REF_NAME"); ref != "" {
			uri += "@refs/heads/" + ref
		}
		return ResolvedDependency{URI: uri, Digest: DigestSet{"gitCommit": sha}}, true
	}
	return localGit(ctx, dir)
}

func localGit(ctx context.Context, dir string) (ResolvedDependency, bool) {
	git := func(args ...string) string {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "git", args...)
		cmd.Dir = dir
		out, err := cmd.Output()
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(out))
	}
	commit := git("rev-parse", "HEAD")
	if commit == "" {
		return ResolvedDependency{}, false
	}
	repo := git("config", "--get", "remote.origin.url")
	if repo == "" {
		top := git("rev-parse", "--show-toplevel")
		if top == "" {
			return ResolvedDependency{}, false
		}
		repo = (&url.URL{Scheme: "file", Path: filepath.ToSlash(filepath.Clean(top))}).String()
	} else if strings.Contains(repo, "://") {
		// A token in the remote's URL (user info, query) never reaches
		// the statement; a URL that does not parse is not recorded.
		u, err := url.Parse(repo)
		if err != nil {
			return ResolvedDependency{}, false
		}
		u.User, u.RawQuery, u.Fragment = nil, "", ""
		repo = u.String()
	}
	uri := "git+" + repo
	if b := git("rev-parse", "--abbrev-ref", "HEAD"); b != "" && b != "HEAD" {
		uri += "@refs/heads/" + b
	}
	return ResolvedDependency{URI: uri, Digest: DigestSet{"gitCommit": commit}}, true
}
