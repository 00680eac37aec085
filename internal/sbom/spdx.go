package sbom

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"
	"time"

	"github.com/google/uuid"
	spdxjson "github.com/spdx/tools-golang/json"
	"github.com/spdx/tools-golang/spdx/v2/common"
	spdx "github.com/spdx/tools-golang/spdx/v2/v2_3"
)

// Formats are the SBOM formats this package writes, as Packer names them.
const (
	FormatCycloneDX = "cyclonedx"
	FormatSPDX      = "spdx"
)

// Write is the SBOM in format: CycloneDX or SPDX JSON.
func Write(format, subject string, o OS, pkgs []Package, now time.Time) ([]byte, error) {
	switch format {
	case FormatCycloneDX, "":
		return CycloneDX(subject, o, pkgs)
	case FormatSPDX:
		return SPDX(subject, o, pkgs, now)
	default:
		return nil, fmt.Errorf("no SBOM format %q: want cyclonedx or spdx", format)
	}
}

// SPDX is the SBOM of the packages on a machine of this OS as SPDX 2.3
// JSON (spdx/tools-golang, as Packer uses): one package for the OS, one
// per installed package with its package URL, each contained by the OS.
func SPDX(subject string, o OS, pkgs []Package, now time.Time) ([]byte, error) {
	osName := o.ID
	if osName == "" {
		osName = "unknown"
	}
	doc := &spdx.Document{
		SPDXVersion: spdx.Version, DataLicense: spdx.DataLicense, SPDXIdentifier: "DOCUMENT",
		DocumentName:      subject,
		DocumentNamespace: "https://github.com/vultr-image-action/spdx/" + uuid.NewString(),
		CreationInfo: &spdx.CreationInfo{Created: now.UTC().Format(time.RFC3339),
			Creators: []common.Creator{{CreatorType: "Tool", Creator: "vultr-image-action"}}},
	}
	osPkg := &spdx.Package{PackageName: osName, PackageSPDXIdentifier: "OS", PackageVersion: o.VersionID,
		PackageDownloadLocation: "NOASSERTION", PrimaryPackagePurpose: "OPERATING-SYSTEM", PackageDescription: subject}
	doc.Packages = append(doc.Packages, osPkg)
	doc.Relationships = append(doc.Relationships, &spdx.Relationship{RefA: common.MakeDocElementID("", "DOCUMENT"), RefB: common.MakeDocElementID("", "OS"), Relationship: "DESCRIBES"})
	sorted := append([]Package(nil), pkgs...)
	sort.Slice(sorted, func(i, j int) bool {
		return sorted[i].Name < sorted[j].Name || sorted[i].Name == sorted[j].Name && sorted[i].Arch < sorted[j].Arch
	})
	for i, p := range sorted {
		id := common.ElementID("Package-" + strconv.Itoa(i+1))
		doc.Packages = append(doc.Packages, &spdx.Package{
			PackageName: p.Name, PackageSPDXIdentifier: id, PackageVersion: p.Version, PackageDownloadLocation: "NOASSERTION",
			PackageExternalReferences: []*spdx.PackageExternalReference{{Category: common.CategoryPackageManager, RefType: common.TypePackageManagerPURL, Locator: PURL(p, o)}},
		})
		doc.Relationships = append(doc.Relationships, &spdx.Relationship{RefA: common.MakeDocElementID("", "OS"), RefB: common.MakeDocElementID("", string(id)), Relationship: "CONTAINS"})
	}
	var b bytes.Buffer
	if err := spdxjson.Write(doc, &b, spdxjson.Indent("  "), spdxjson.EscapeHTML(false)); err != nil {
		return nil, fmt.Errorf("encode SPDX: %w", err)
	}
	return b.Bytes(), nil
}
