package vultremu

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"
)

type catalogue struct {
	Regions      []map[string]any `json:"regions"`
	Plans        []map[string]any `json:"plans"`
	OS           []map[string]any `json:"os"`
	Applications []map[string]any `json:"applications"`
	PublicISOs   []map[string]any `json:"public_isos"`
}

func (s *Server) listCatalogue(w http.ResponseWriter, r *http.Request, key string, items []map[string]any) {
	if r.Method != http.MethodGet {
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed.")
		return
	}
	start, end, meta, err := paginate(r, len(items))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	page := make([]map[string]any, 0, end-start)
	for _, it := range items[start:end] {
		page = append(page, served(it))
	}
	writeJSON(w, http.StatusOK, map[string]any{key: page, "meta": meta})
}

// served is a catalogue item without the emulator's own fields ("_...").
func served(item map[string]any) map[string]any {
	out := make(map[string]any, len(item))
	for k, v := range item {
		if !strings.HasPrefix(k, "_") {
			out[k] = v
		}
	}
	return out
}

func (s *Server) listPlans(w http.ResponseWriter, r *http.Request) {
	items := s.cat.Plans
	if t := r.URL.Query().Get("type"); t != "" && t != "all" {
		var f []map[string]any
		for _, p := range items {
			if p["type"] == t {
				f = append(f, p)
			}
		}
		items = f
	}
	s.listCatalogue(w, r, "plans", items)
}

func (s *Server) region(id string) map[string]any {
	for _, r := range s.cat.Regions {
		if r["id"] == id {
			return r
		}
	}
	return nil
}

func (s *Server) plan(id string) map[string]any {
	for _, p := range s.cat.Plans {
		if p["id"] == id {
			return p
		}
	}
	return nil
}

func (s *Server) osByID(id int) map[string]any {
	for _, o := range s.cat.OS {
		if n, ok := o["id"].(float64); ok && int(n) == id {
			return o
		}
	}
	return nil
}

func planAvailable(p map[string]any, region string) bool {
	locs, _ := p["locations"].([]any)
	for _, l := range locs {
		if l == region {
			return true
		}
	}
	return false
}

// IPv6OnlyPlans have no IPv4 address, as Vultr's "-v6" plans.
func ipv6Only(planID string) bool { return strings.HasSuffix(planID, "-v6") }

func (s *Server) availability(w http.ResponseWriter, r *http.Request, region string) {
	if s.region(region) == nil {
		writeError(w, http.StatusNotFound, "Invalid region.")
		return
	}
	plans := []string{}
	for _, p := range s.cat.Plans {
		if planAvailable(p, region) {
			plans = append(plans, p["id"].(string))
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"available_plans": plans})
}

// Instance is the API's instance object.
type Instance struct {
	ID               string   `json:"id"`
	OS               string   `json:"os"`
	RAM              int      `json:"ram"`
	Disk             int      `json:"disk"`
	MainIP           string   `json:"main_ip"`
	VCPUCount        int      `json:"vcpu_count"`
	Region           string   `json:"region"`
	Plan             string   `json:"plan"`
	DateCreated      string   `json:"date_created"`
	Status           string   `json:"status"`
	AllowedBandwidth int      `json:"allowed_bandwidth"`
	NetmaskV4        string   `json:"netmask_v4"`
	GatewayV4        string   `json:"gateway_v4"`
	PowerStatus      string   `json:"power_status"`
	ServerStatus     string   `json:"server_status"`
	V6Network        string   `json:"v6_network"`
	V6MainIP         string   `json:"v6_main_ip"`
	V6NetworkSize    int      `json:"v6_network_size"`
	Label            string   `json:"label"`
	InternalIP       string   `json:"internal_ip"`
	KVM              string   `json:"kvm"`
	Hostname         string   `json:"hostname"`
	Tag              string   `json:"tag"`
	Tags             []string `json:"tags"`
	OSID             int      `json:"os_id"`
	AppID            int      `json:"app_id"`
	ImageID          string   `json:"image_id"`
	SnapshotID       string   `json:"snapshot_id,omitempty"`
	FirewallGroupID  string   `json:"firewall_group_id"`
	Features         []string `json:"features"`
	DefaultPassword  string   `json:"default_password,omitempty"`
}

type instance struct {
	Instance
	password string
	created  time.Time
	machine  Machine
	spec     MachineSpec
	booted   bool
	// hiddenUntil keeps a created instance out of lists and GETs for a
	// while (FaultCreateThenError with a Delay).
	hiddenUntil time.Time
}

// hidden reports whether in is not yet visible to reads; s.mu held.
func (in *instance) hidden() bool { return time.Now().Before(in.hiddenUntil) }

// SSHKey is the API's SSH key object.
type SSHKey struct {
	ID          string `json:"id"`
	DateCreated string `json:"date_created"`
	Name        string `json:"name"`
	SSHKey      string `json:"ssh_key"`
}

// Snapshot is the API's snapshot object.
type Snapshot struct {
	ID             string `json:"id"`
	DateCreated    string `json:"date_created"`
	Description    string `json:"description"`
	Size           int64  `json:"size"`
	CompressedSize int64  `json:"compressed_size"`
	Status         string `json:"status"`
	OSID           int    `json:"os_id"`
	AppID          int    `json:"app_id"`
}

type snapshot struct {
	Snapshot
	hang, fail bool
}

// Instances returns a copy of every instance.
func (s *Server) Instances() []Instance {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Instance, 0, len(s.insts))
	for _, id := range s.order {
		if in, ok := s.insts[id]; ok {
			out = append(out, in.Instance)
		}
	}
	return out
}

// SSHKeys returns a copy of every SSH key.
func (s *Server) SSHKeys() []SSHKey {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]SSHKey, 0, len(s.keys))
	for _, id := range sortedKeys(s.keys) {
		out = append(out, *s.keys[id])
	}
	return out
}

// Snapshots returns a copy of every snapshot.
func (s *Server) Snapshots() []Snapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Snapshot, 0, len(s.snaps))
	for _, id := range sortedKeys(s.snaps) {
		out = append(out, s.snaps[id].Snapshot)
	}
	return out
}

func (s *Server) checkID(w http.ResponseWriter, id string) bool {
	if !uuidRE.MatchString(id) {
		writeError(w, http.StatusBadRequest, "Invalid UUID format.")
		return false
	}
	return true
}

type createInstanceReq struct {
	Region     string   `json:"region"`
	Plan       string   `json:"plan"`
	OSID       *int     `json:"os_id"`
	ISOID      string   `json:"iso_id"`
	SnapshotID string   `json:"snapshot_id"`
	AppID      *int     `json:"app_id"`
	ImageID    string   `json:"image_id"`
	Label      string   `json:"label"`
	Hostname   string   `json:"hostname"`
	SSHKeyIDs  []string `json:"sshkey_id"`
	ScriptID   string   `json:"script_id"`
	UserData   string   `json:"user_data"`
	EnableIPv6 *bool    `json:"enable_ipv6"`
	EnableVPC  *bool    `json:"enable_vpc"`
	Tags       []string `json:"tags"`
	Tag        string   `json:"tag"`
}

func (s *Server) instances(w http.ResponseWriter, r *http.Request, id, action string) {
	switch {
	case id == "" && r.Method == http.MethodPost:
		s.createInstance(w, r)
	case id == "" && r.Method == http.MethodGet:
		s.listInstances(w, r)
	case id != "" && action == "" && r.Method == http.MethodGet:
		if !s.checkID(w, id) {
			return
		}
		s.mu.Lock()
		in, ok := s.insts[id]
		var out Instance
		if ok = ok && !in.hidden(); ok {
			out = in.Instance
		}
		s.mu.Unlock()
		if !ok {
			writeError(w, http.StatusNotFound, "Instance not found.")
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"instance": out})
	case id != "" && action == "" && r.Method == http.MethodDelete:
		s.deleteInstance(w, id)
	case id != "" && r.Method == http.MethodPost && (action == "halt" || action == "start" || action == "reboot"):
		s.powerAction(w, id, action)
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed.")
	}
}

func (s *Server) createInstance(w http.ResponseWriter, r *http.Request) {
	var req createInstanceReq
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "Bad request.")
		return
	}
	out, status, msg := s.newInstance(req)
	if status != 0 {
		writeError(w, status, msg)
		return
	}
	// A fault may make a create that succeeded answer 500 (and keep the
	// instance out of reads for a while).
	if status, hide, ok := s.createFault(r.URL.Path); ok {
		if hide > 0 {
			s.mu.Lock()
			if in := s.insts[out.ID]; in != nil {
				in.hiddenUntil = time.Now().Add(hide)
			}
			s.mu.Unlock()
		}
		writeError(w, status, "Internal server error.")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"instance": out})
}

// newInstance creates an instance and returns a copy of it as the create
// answers it (with its password), taken under the lock: timers change the
// instance from the moment the lock is released.
func (s *Server) newInstance(req createInstanceReq) (Instance, int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.Region == "" || s.region(req.Region) == nil {
		return Instance{}, http.StatusBadRequest, "Invalid region."
	}
	p := s.plan(req.Plan)
	if p == nil {
		return Instance{}, http.StatusBadRequest, "Invalid plan chosen."
	}
	if !planAvailable(p, req.Region) {
		return Instance{}, http.StatusBadRequest, "Plan is not available in the selected region."
	}
	sources := 0
	for _, set := range []bool{req.OSID != nil && *req.OSID != 0, req.ISOID != "", req.SnapshotID != "", req.AppID != nil && *req.AppID != 0, req.ImageID != ""} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return Instance{}, http.StatusBadRequest, "Please provide only one os_id, iso_id, snapshot_id, app_id, or image_id."
	}
	in := &instance{created: time.Now()}
	var isoPassword string
	in.ID = s.newID()
	in.Region, in.Plan = req.Region, req.Plan
	in.VCPUCount, in.RAM = int(p["vcpu_count"].(float64)), int(p["ram"].(float64))
	in.AllowedBandwidth = int(p["bandwidth"].(float64))
	in.Status, in.PowerStatus, in.ServerStatus = "pending", "running", "none"
	in.MainIP, in.GatewayV4 = "0.0.0.0", "0.0.0.0"
	in.Label, in.Hostname = req.Label, req.Hostname
	in.Tags = append([]string{}, req.Tags...)
	if req.Tag != "" {
		in.Tags = append(in.Tags, req.Tag)
	}
	in.Features = []string{}
	in.DateCreated = vultrTime(in.created)
	switch {
	case req.OSID != nil && *req.OSID != 0:
		o := s.osByID(*req.OSID)
		if o == nil {
			return Instance{}, http.StatusBadRequest, "Invalid os_id."
		}
		in.OSID, in.OS = *req.OSID, o["name"].(string)
	case req.SnapshotID != "":
		sn, ok := s.snaps[req.SnapshotID]
		if !ok {
			return Instance{}, http.StatusBadRequest, "Invalid snapshot_id."
		}
		if sn.Status != "complete" {
			return Instance{}, http.StatusBadRequest, "Snapshot is not complete."
		}
		in.OSID, in.OS, in.SnapshotID = 164, "Snapshot", req.SnapshotID
	case req.ISOID != "":
		pw, ok := s.bootableISO(req.ISOID)
		if !ok {
			return Instance{}, http.StatusBadRequest, "Invalid iso_id."
		}
		in.OSID, in.OS, isoPassword = 159, "Custom", pw
	case req.AppID != nil && *req.AppID != 0:
		in.OSID, in.AppID, in.OS = 186, *req.AppID, "Application"
	case req.ImageID != "":
		in.OSID, in.ImageID, in.OS = 186, req.ImageID, "Application"
	default:
		in.OSID, in.OS = 159, "Custom"
	}
	if req.UserData != "" {
		if _, err := base64.StdEncoding.DecodeString(req.UserData); err != nil {
			return Instance{}, http.StatusBadRequest, "user_data must be base64 encoded."
		}
	}
	var keys []string
	for _, k := range req.SSHKeyIDs {
		key, ok := s.keys[k]
		if !ok {
			return Instance{}, http.StatusBadRequest, "Invalid SSH key ID."
		}
		keys = append(keys, key.SSHKey)
	}
	pw := make([]byte, 12)
	_, _ = rand.Read(pw)
	in.password = base64.RawURLEncoding.EncodeToString(pw)
	rootPassword := in.password
	if isoPassword != "" {
		// The ISO's own system: the API's password means nothing to it.
		rootPassword = isoPassword
	}
	v6 := (req.EnableIPv6 != nil && *req.EnableIPv6) || ipv6Only(req.Plan)
	ip := s.newIP()
	s.ips[ip] = in.ID
	in.spec = MachineSpec{InstanceID: in.ID, IPv4: ip, AuthorizedKeys: keys, RootPassword: rootPassword, From: in.SnapshotID}
	if v6 {
		in.spec.IPv6 = fmt.Sprintf("2001:db8:%x::%x", s.rng.Intn(0xffff), s.rng.Intn(0xffff)+1)
	}
	s.insts[in.ID] = in
	s.order = append(s.order, in.ID)
	s.changed(in.ID, "status", "pending")
	id := in.ID
	s.after(s.o.Delays.lockedAfter(), func() {
		if in, ok := s.insts[id]; ok && in.ServerStatus == "none" {
			in.ServerStatus = "locked"
			s.changed(id, "server_status", "locked")
		}
	})
	s.after(s.o.Delays.InstancePending, func() { s.activate(id, v6) })
	out := in.Instance
	out.Tags = append([]string{}, in.Tags...)
	out.DefaultPassword = in.password
	return out, 0, ""
}

// activate moves an instance to active/installingbooting and boots its
// machine; once the machine answers and the boot delay passed, it is ok.
func (s *Server) activate(id string, v6 bool) {
	in, ok := s.insts[id]
	if !ok {
		return
	}
	in.Status, in.ServerStatus = "active", "installingbooting"
	s.changed(id, "server_status", "installingbooting")
	if s.kindFiresLocked(FaultInstanceError) != nil {
		in.ServerStatus = "error"
		s.changed(id, "server_status", "error")
		return
	}
	odd := s.kindFiresLocked(FaultOddStatus) != nil
	if odd {
		in.ServerStatus, in.PowerStatus = "isomounting", "starting"
	}
	if !ipv6Only(in.Plan) {
		in.MainIP, in.NetmaskV4 = in.spec.IPv4, "255.0.0.0"
		in.GatewayV4 = "127.0.0.1"
	}
	if v6 {
		in.V6MainIP, in.V6Network, in.V6NetworkSize = in.spec.IPv6, in.spec.IPv6[:strings.LastIndex(in.spec.IPv6, ":")]+":", 64
	}
	in.Disk = 25
	in.KVM = "https://emulator.invalid/novnc/" + id
	s.changed(id, "status", "active")
	spec := in.spec
	spec.OnPowerOff = func() { s.poweredOff(id) }
	if in.SnapshotID != "" && s.kindFiresLocked(FaultSnapshotBootFail) != nil {
		s.after(s.o.Delays.InstanceBooting, func() {
			if in, ok := s.insts[id]; ok && in.ServerStatus == "installingbooting" {
				in.ServerStatus = "ok"
				s.changed(id, "server_status", "ok")
			}
		})
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		m, err := s.o.Machines.Boot(context.Background(), spec)
		s.mu.Lock()
		defer s.mu.Unlock()
		in, ok := s.insts[id]
		if err != nil {
			s.o.Logf("instance %s: boot machine: %v", id, err)
		}
		if !ok || s.closed {
			if m != nil {
				go func() { _ = m.Destroy() }()
			}
			return
		}
		in.machine, in.booted = m, true
		if odd {
			in.ServerStatus, in.PowerStatus = "migrating", "running"
		}
		s.after(s.o.Delays.InstanceBooting, func() {
			if in, ok := s.insts[id]; ok && (in.ServerStatus == "installingbooting" || in.ServerStatus == "migrating") {
				in.ServerStatus = "ok"
				s.changed(id, "server_status", "ok")
			}
		})
	}()
}

func (s *Server) poweredOff(id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if in, ok := s.insts[id]; ok {
		in.PowerStatus = "stopped"
		s.changed(id, "power_status", "stopped")
	}
}

func (s *Server) powerAction(w http.ResponseWriter, id, action string) {
	if !s.checkID(w, id) {
		return
	}
	s.mu.Lock()
	in, ok := s.insts[id]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Instance not found.")
		return
	}
	m := in.machine
	switch action {
	case "halt":
		in.PowerStatus = "stopped"
		s.changed(id, "power_status", "stopped")
	case "start", "reboot":
		if in.PowerStatus == "stopped" && in.booted {
			// Boot a fresh machine on the same disk is not modelled; the
			// instance reports running again.
			in.PowerStatus = "running"
			s.changed(id, "power_status", "running")
		}
	}
	s.mu.Unlock()
	if action == "halt" && m != nil {
		_ = m.Halt()
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) deleteInstance(w http.ResponseWriter, id string) {
	if !s.checkID(w, id) {
		return
	}
	s.mu.Lock()
	in, ok := s.insts[id]
	if !ok {
		s.mu.Unlock()
		if s.deleted[id] {
			// Observed: deleting a deleted instance answers 400, not 404.
			writeError(w, http.StatusBadRequest, "Invalid instance ID.")
			return
		}
		writeError(w, http.StatusNotFound, "Instance not found.")
		return
	}
	// Real Vultr refuses to destroy an instance while it installs.
	if in.ServerStatus == "none" || in.ServerStatus == "locked" || s.lockFault() {
		s.mu.Unlock()
		writeError(w, http.StatusInternalServerError, "Unable to destroy server: Unable to remove VM: Server is currently locked")
		return
	}
	delete(s.insts, id)
	s.deleted[id] = true
	delete(s.ips, in.spec.IPv4)
	s.changed(id, "status", "deleted")
	m := in.machine
	lost := s.kindFiresLocked(FaultDeleteThenError) != nil
	s.mu.Unlock()
	if m != nil {
		_ = m.Destroy()
	}
	if lost {
		writeError(w, http.StatusInternalServerError, "Internal server error.")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) listInstances(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	var items []Instance
	for _, id := range s.order {
		in, ok := s.insts[id]
		if !ok || in.hidden() {
			continue
		}
		if t := q.Get("tag"); t != "" && !s.tagMatches(in.Tags, t) {
			continue
		}
		if l := q.Get("label"); l != "" && in.Label != l {
			continue
		}
		if ip := q.Get("main_ip"); ip != "" && in.MainIP != ip {
			continue
		}
		if rg := q.Get("region"); rg != "" && in.Region != rg {
			continue
		}
		items = append(items, in.Instance)
	}
	s.mu.Unlock()
	start, end, meta, err := paginate(r, len(items))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if items == nil {
		items = []Instance{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"instances": items[start:end], "meta": meta})
}

func (s *Server) sshKeys(w http.ResponseWriter, r *http.Request, id string) {
	switch {
	case id == "" && r.Method == http.MethodPost:
		var req struct {
			Name   string `json:"name"`
			SSHKey string `json:"ssh_key"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.Name == "" || req.SSHKey == "" {
			writeError(w, http.StatusBadRequest, "Invalid SSH key.")
			return
		}
		if !strings.HasPrefix(req.SSHKey, "ssh-") && !strings.HasPrefix(req.SSHKey, "ecdsa-") {
			writeError(w, http.StatusBadRequest, "Invalid SSH key.")
			return
		}
		s.mu.Lock()
		k := &SSHKey{ID: s.newID(), DateCreated: vultrTime(time.Now()), Name: req.Name, SSHKey: req.SSHKey}
		s.keys[k.ID] = k
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]any{"ssh_key": k})
	case id == "" && r.Method == http.MethodGet:
		keys := s.SSHKeys()
		start, end, meta, err := paginate(r, len(keys))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ssh_keys": keys[start:end], "meta": meta})
	case id != "" && (r.Method == http.MethodGet || r.Method == http.MethodDelete):
		if !s.checkID(w, id) {
			return
		}
		s.mu.Lock()
		k, ok := s.keys[id]
		if ok && r.Method == http.MethodDelete {
			delete(s.keys, id)
		}
		s.mu.Unlock()
		switch {
		case !ok:
			writeError(w, http.StatusNotFound, "SSH key not found.")
		case r.Method == http.MethodDelete:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusOK, map[string]any{"ssh_key": k})
		}
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed.")
	}
}

func (s *Server) snapshots(w http.ResponseWriter, r *http.Request, id string) {
	switch {
	case id == "" && r.Method == http.MethodPost:
		s.createSnapshot(w, r)
	case id == "" && r.Method == http.MethodGet:
		desc := r.URL.Query().Get("description")
		var items []Snapshot
		for _, sn := range s.Snapshots() {
			if desc == "" || sn.Description == desc {
				items = append(items, sn)
			}
		}
		start, end, meta, err := paginate(r, len(items))
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if items == nil {
			items = []Snapshot{}
		}
		writeJSON(w, http.StatusOK, map[string]any{"snapshots": items[start:end], "meta": meta})
	case id != "":
		if !s.checkID(w, id) {
			return
		}
		s.mu.Lock()
		sn, ok := s.snaps[id]
		var out Snapshot
		if ok {
			out = sn.Snapshot
		}
		if ok && r.Method == http.MethodDelete {
			delete(s.snaps, id)
		}
		if ok && r.Method == http.MethodPut {
			var req struct {
				Description string `json:"description"`
			}
			if json.NewDecoder(r.Body).Decode(&req) == nil {
				sn.Description = req.Description
			}
		}
		s.mu.Unlock()
		switch {
		case !ok:
			writeError(w, http.StatusNotFound, "Snapshot not found.")
		case r.Method == http.MethodGet:
			writeJSON(w, http.StatusOK, map[string]any{"snapshot": out})
		case r.Method == http.MethodDelete:
			_ = s.o.Machines.DeleteSnapshot(id)
			w.WriteHeader(http.StatusNoContent)
		case r.Method == http.MethodPut:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeError(w, http.StatusMethodNotAllowed, "Method not allowed.")
		}
	default:
		writeError(w, http.StatusMethodNotAllowed, "Method not allowed.")
	}
}

func (s *Server) createSnapshot(w http.ResponseWriter, r *http.Request) {
	var req struct {
		InstanceID  string `json:"instance_id"`
		Description string `json:"description"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil || req.InstanceID == "" {
		writeError(w, http.StatusBadRequest, "Bad request.")
		return
	}
	if !s.checkID(w, req.InstanceID) {
		return
	}
	s.mu.Lock()
	in, ok := s.insts[req.InstanceID]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "Instance not found.")
		return
	}
	sn := &snapshot{Snapshot: Snapshot{ID: s.newID(), DateCreated: vultrTime(time.Now()), Description: req.Description, Status: "pending", OSID: in.OSID, AppID: in.AppID}}
	sn.hang, sn.fail = s.snapshotFault()
	s.snaps[sn.ID] = sn
	m := in.machine
	s.changed(sn.ID, "status", "pending")
	out := sn.Snapshot
	id := sn.ID
	s.wg.Add(1)
	s.mu.Unlock()
	// Capture the disk now, as the snapshot's point in time.
	go func() {
		defer s.wg.Done()
		var err error
		if m != nil {
			err = s.o.Machines.Snapshot(context.Background(), m, id)
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		if err != nil {
			s.o.Logf("snapshot %s: %v", id, err)
		}
		s.after(s.o.Delays.SnapshotPending, func() {
			sn, ok := s.snaps[id]
			if !ok || sn.hang {
				return
			}
			if sn.fail || err != nil {
				sn.Status = "failed"
				s.changed(id, "status", "failed")
				return
			}
			sn.Status, sn.Size, sn.CompressedSize = "complete", 26843545600, 1610612736
			s.changed(id, "status", "complete")
		})
	}()
	if status, _, ok := s.createFault(r.URL.Path); ok {
		writeError(w, status, "Internal server error.")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"snapshot": out})
}

// tagMatches is the tag filter of the instance list: exact, or with
// LooseTagFilter any tag that contains the value.
func (s *Server) tagMatches(tags []string, want string) bool {
	if !s.o.LooseTagFilter {
		return slices.Contains(tags, want)
	}
	return slices.ContainsFunc(tags, func(t string) bool { return strings.Contains(t, want) })
}

// SeedSnapshot adds a snapshot that the account already held before a
// test began (an earlier run's), with its own date and status. It is a
// test fixture: the API cannot set either.
func (s *Server) SeedSnapshot(sn Snapshot) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if sn.ID == "" {
		sn.ID = s.newID()
	}
	if sn.Status == "" {
		sn.Status = "complete"
	}
	s.snaps[sn.ID] = &snapshot{Snapshot: sn, hang: sn.Status == "pending"}
	return sn.ID
}
