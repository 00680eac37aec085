package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/vultr-image-action/vultr-image-action/internal/build"
	"github.com/vultr-image-action/vultr-image-action/internal/ghaction"
	"github.com/vultr-image-action/vultr-image-action/internal/redact"
	"github.com/vultr-image-action/vultr-image-action/internal/spec"
)

// writeActionResults sets the step outputs and the job summary.
func writeActionResults(act *ghaction.Action, s *spec.Spec, results []*build.Result, red *redact.Redactor, workDir, workspace string) error {
	var errs []error
	set := func(k, v string) { errs = append(errs, act.SetOutput(k, red.String(v))) }
	ids := map[string]string{}
	first := ""
	for _, r := range results {
		if r.SnapshotID != "" && r.Status == build.Succeeded {
			ids[r.Name] = r.SnapshotID
			if first == "" {
				first = r.SnapshotID
			}
		}
	}
	set("snapshot-id", first)
	idsJSON, _ := json.Marshal(ids)
	set("snapshot-ids", string(idsJSON))
	if len(results) > 0 {
		r := results[0]
		set("snapshot-description", r.Description)
		set("region", r.Region)
		var total time.Duration
		for _, r := range results {
			if d := r.Duration(); d > total {
				total = d
			}
		}
		set("build-time", fmt.Sprintf("%.0f", total.Seconds()))
	}
	if m := manifestPath(s, workDir); m != "" {
		// Relative to the workspace: the path inside the container
		// (/github/workspace/...) means nothing to a later step.
		set("manifest", workspaceRelative(workspace, m))
	}
	sbomPath, provPath := firstProof(results)
	set("sbom", workspaceRelative(workspace, sbomPath))
	set("provenance", workspaceRelative(workspace, provPath))
	set("verified", verifiedOutput(results))
	artifacts, _ := json.Marshal(artifactsJSON(results, red, workspace))
	set("artifacts", string(artifacts))
	errs = append(errs, act.AddStepSummary(red.String(summaryMarkdown(results, red.String))))
	return errors.Join(errs...)
}

// manifestPath is the first manifest post-processor's output, if any.
func manifestPath(s *spec.Spec, workDir string) string {
	if s == nil {
		return ""
	}
	for _, b := range s.Builds {
		for _, seq := range b.PostProcessors {
			for _, pp := range seq {
				if m, ok := pp.Config.(*spec.Manifest); ok {
					p := m.Output
					if p == "" {
						p = "packer-manifest.json"
					}
					if !filepath.IsAbs(p) && workDir != "" {
						p = filepath.Join(workDir, p)
					}
					return p
				}
			}
		}
	}
	return ""
}

type artifactJSON struct {
	Name        string  `json:"name"`
	Status      string  `json:"status"`
	SnapshotID  string  `json:"snapshot_id,omitempty"`
	BuilderType string  `json:"builder_type"`
	ArtifactID  string  `json:"artifact_id,omitempty"`
	Description string  `json:"description"`
	Region      string  `json:"region"`
	Plan        string  `json:"plan"`
	Image       string  `json:"image"`
	Seconds     float64 `json:"build_seconds"`
	Error       string  `json:"error,omitempty"`
	// The build's SBOM and attestations, workspace-relative.
	SBOM            string `json:"sbom,omitempty"`
	SBOMPackages    int    `json:"sbom_packages,omitempty"`
	Provenance      string `json:"provenance,omitempty"`
	SBOMAttestation string `json:"sbom_attestation,omitempty"`
	Signing         string `json:"signing,omitempty"`
	// Verified is "true" or "false" when the snapshot was checked.
	Verified string `json:"verified,omitempty"`
}

// verifiedOutput is "true" when every checked build's snapshot passed,
// "false" when one failed, "" when none was checked.
func verifiedOutput(results []*build.Result) string {
	out := ""
	for _, r := range results {
		switch r.Verified() {
		case "false":
			return "false"
		case "true":
			out = "true"
		}
	}
	return out
}

// firstProof is the first build's SBOM and provenance statement, for the
// sbom and provenance outputs (the artifacts output has every build's).
func firstProof(results []*build.Result) (sbomPath, provenance string) {
	for _, r := range results {
		if sbomPath == "" && r.SBOM != nil {
			sbomPath = r.SBOM.Path
		}
		for _, a := range r.Attestations {
			if provenance == "" && a.Kind == "provenance" {
				provenance = a.Path
			}
		}
	}
	return sbomPath, provenance
}

func artifactsJSON(results []*build.Result, red *redact.Redactor, workspace string) []artifactJSON {
	out := make([]artifactJSON, 0, len(results))
	for _, r := range results {
		a := artifactJSON{Name: r.Name, Status: string(r.Status), SnapshotID: r.SnapshotID, BuilderType: r.Type, ArtifactID: r.ArtifactID, Description: r.Description,
			Region: r.Region, Plan: r.Plan, Image: r.Image, Seconds: r.Duration().Round(time.Millisecond).Seconds()}
		if r.Err != nil {
			a.Error = red.String(r.Err.Error())
		}
		a.Verified = r.Verified()
		if r.SBOM != nil {
			a.SBOM, a.SBOMPackages = workspaceRelative(workspace, r.SBOM.Path), r.SBOM.Packages
		}
		for _, at := range r.Attestations {
			a.Signing = at.Signing
			switch at.Kind {
			case "provenance":
				a.Provenance = workspaceRelative(workspace, at.Path)
			case "sbom":
				a.SBOMAttestation = workspaceRelative(workspace, at.Path)
			}
		}
		out = append(out, a)
	}
	return out
}

// workspaceRelative is p relative to the workspace, when it is inside it.
func workspaceRelative(workspace, p string) string {
	if workspace == "" || !Within(workspace, p) {
		return p
	}
	rel, err := filepath.Rel(workspace, p)
	if err != nil {
		return p
	}
	return filepath.ToSlash(rel)
}
