package vultremu

import (
	"net/http"
	"slices"
)

// ISO is a private ISO (GET /v2/iso), as the API answers it.
type ISO struct {
	ID          string `json:"id"`
	DateCreated string `json:"date_created"`
	FileName    string `json:"filename"`
	Size        int64  `json:"size"`
	MD5Sum      string `json:"md5sum"`
	SHA512Sum   string `json:"sha512sum"`
	Status      string `json:"status"` // "complete", "pending" while it downloads
	// RootPassword is the password the emulated system booted from the ISO
	// accepts for root (an installer's or live system's own); never served.
	RootPassword string `json:"-"`
}

// SeedISO adds a private ISO that the account already holds (status
// "complete" by default). It is a test fixture; uploading is not modelled.
func (s *Server) SeedISO(iso ISO) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if iso.ID == "" {
		iso.ID = s.newID()
	}
	if iso.Status == "" {
		iso.Status = "complete"
	}
	if iso.DateCreated == "" {
		iso.DateCreated = "2026-01-01T00:00:00+00:00"
	}
	s.isos[iso.ID] = &iso
	s.isoOrder = append(s.isoOrder, iso.ID)
	return iso.ID
}

// isoRoutes serves GET /v2/iso and GET /v2/iso/{id}: the account's own
// ISOs. Public ISOs are GET /v2/iso-public, without authentication.
func (s *Server) isoRoutes(w http.ResponseWriter, r *http.Request, id string) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if id == "" {
		items := make([]ISO, 0, len(s.isoOrder))
		for _, k := range s.isoOrder {
			items = append(items, *s.isos[k])
		}
		start, end, meta, err := paginate(r, len(items))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"isos": items[start:end], "meta": meta})
		return
	}
	if !uuidRE.MatchString(id) {
		writeError(w, http.StatusBadRequest, "Invalid UUID format.")
		return
	}
	iso, ok := s.isos[id]
	if !ok {
		writeError(w, http.StatusNotFound, "ISO not found.")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"iso": iso})
}

// bootableISO reports whether an instance can boot this ISO (a complete
// private one, or a public one), and the root password its system
// accepts. s.mu must be held.
func (s *Server) bootableISO(id string) (rootPassword string, ok bool) {
	if iso, ok := s.isos[id]; ok {
		return iso.RootPassword, iso.Status == "complete"
	}
	i := slices.IndexFunc(s.cat.PublicISOs, func(p map[string]any) bool { return p["id"] == id })
	if i < 0 {
		return "", false
	}
	pw, _ := s.cat.PublicISOs[i]["_root_password"].(string)
	return pw, true
}
