// Package teach is the model of the dashboard's Teach panel, free of any
// browser API so that it builds and tests on the host: the user's classes
// and the photos dropped into each, the fit of a new last layer on their
// features (shared/teach, run by the page's worker: static/worker.js with
// wasm/worker), its progress and cross-validated report, and which head
// the classifier panel uses. The page (wasm/app) posts the photos and the
// requests to the worker and feeds the worker's replies to State.Apply.
package teach

import (
	"encoding/json"
	"github.com/pawnet/pawnet/wasm/protocol"
	"slices"
	"strconv"
	"strings"

	"github.com/pawnet/pawnet/wasm/dash"
)

// Limits of the panel.
const (
	// MaxClasses is the most classes a head can be taught (shared/teach's
	// MaxClasses).
	MaxClasses = 10
	// MaxPhotos is the most photos a class holds (each photo's features
	// are 32 KB for the full model, kept in the browser's storage).
	MaxPhotos = 100
	// MaxFileBytes is the largest photo accepted, as in the classifier
	// panel.
	MaxFileBytes = 32_000_000
	// MaxNameRunes is the longest class name.
	MaxNameRunes = 40
)

// Photo states.
const (
	PhotoQueued = "queued" // its features are being computed
	PhotoReady  = "ready"  // its features are computed
	PhotoKept   = "kept"   // its features were kept across a reload (no thumbnail)
	PhotoError  = "error"  // it cannot be used (Err says why)
)

// Photo is one photo dropped into a class. Only its features leave the
// page (to the worker, which keeps them in IndexedDB), never the photo.
type Photo struct {
	ID    int64
	Name  string
	Size  int64
	URL   string // object URL of the file, for the thumbnail ("" until the worker made it, and for kept photos)
	State string // one of the Photo* states
	Err   string
}

// Usable reports whether the photo's features are there to teach with.
func (p *Photo) Usable() bool { return p.State == PhotoReady || p.State == PhotoKept }

// Class is one class: its name as the user wrote it and its photos, in
// the order they were dropped.
type Class struct {
	Name   string
	Photos []*Photo
	// Depth counts the drag events entered into its drop zone and not
	// left yet: the zone is highlighted while it is positive.
	Depth int
}

// Report is shared/teach.Report as its JSON (the worker's "taught"
// message): the classes and photos per class the head was taught, the
// chosen weight decay, the cross-validation's folds (0: none, a class had a
// single photo), accuracy and calibrated log loss, the temperature and the
// seed.
type Report struct {
	Classes     []string `json:"classes"`
	Photos      []int    `json:"photos"`
	Lambda      float64  `json:"lambda"`
	Folds       int      `json:"folds"`
	CVAccuracy  float64  `json:"cv_accuracy"`
	CVLogLoss   float64  `json:"cv_log_loss"`
	Temperature float64  `json:"temperature"`
	Seed        uint64   `json:"seed"`
	Separates   bool     `json:"separates"`
	Chance      float64  `json:"chance"`
}

// State is everything the Teach panel shows. Make it with New.
type State struct {
	nextID int64

	Classes []*Class

	// Restored is set once the worker said what the browser kept
	// (teachState): until then the panel does not send its classes, so as
	// not to overwrite them.
	Restored bool
	// Changed is set when the classes or photos changed since the page
	// last sent them (SetMessage); Removed lists the photos removed since.
	Changed bool
	Removed []int64

	// The fit: under way (Training), its stage, the fits done of all
	// (cross-validation's, then the final one), and the final fit's loss
	// per iteration.
	Training    bool
	Stage       string
	Done, Total int
	Losses      []float64
	TrainMs     float64 // the last fit's time in the worker
	Fits        int     // the fits that succeeded since the page opened
	// Message says why Train did not run, or why the fit failed ("" when
	// neither).
	Message string

	// The taught head: its report (nil before any), whether the
	// classifier uses it (Active) and the classes of the head that
	// classifies; HeadErr says why the taught head is not used.
	HasHead     bool
	Report      *Report
	Active      bool
	HeadClasses []string
	HeadErr     string

	// Exporting is set while the worker writes the taught weights file;
	// ExportErr says why it could not. ExportURL is the object URL of the
	// last one written, ExportName its file name and ExportBytes its size.
	Exporting   bool
	ExportErr   string
	ExportURL   string
	ExportName  string
	ExportBytes int64

	// Unused holds thumbnails' object URLs no photo uses any more: the page
	// revokes them and empties it.
	Unused []string
}

// New returns a panel with the classes "cat" and "dog" and no photos.
// Photo IDs start at idBase (e.g. Date.now()·1000): the IDs of the photos
// kept from an earlier visit, which the worker knows their features by,
// are smaller.
func New(idBase int64) *State {
	return &State{nextID: idBase, Classes: []*Class{{Name: "cat"}, {Name: "dog"}}}
}

// pristine reports whether the panel is as New made it.
func (s *State) pristine() bool {
	return len(s.Classes) == 2 && s.Classes[0].Name == "cat" && s.Classes[1].Name == "dog" &&
		len(s.Classes[0].Photos) == 0 && len(s.Classes[1].Photos) == 0
}

// CanAddClass reports whether another class may be added.
func (s *State) CanAddClass() bool { return len(s.Classes) < MaxClasses && !s.Training }

// CanRemoveClass reports whether a class may be removed (a head has at
// least two).
func (s *State) CanRemoveClass() bool { return len(s.Classes) > 2 && !s.Training }

// AddClass adds an empty class named "class N" (N its position, or the
// next free number).
func (s *State) AddClass() {
	if !s.CanAddClass() {
		return
	}
	for n := len(s.Classes) + 1; ; n++ {
		name := "class " + strconv.Itoa(n)
		if s.classNamed(name) < 0 {
			s.Classes = append(s.Classes, &Class{Name: name})
			s.Changed = true
			return
		}
	}
}

// RemoveClass removes class i and its photos, and returns them (the
// caller releases their URLs).
func (s *State) RemoveClass(i int) []*Photo {
	if i < 0 || i >= len(s.Classes) || !s.CanRemoveClass() {
		return nil
	}
	gone := s.Classes[i].Photos
	s.Classes = slices.Delete(s.Classes, i, i+1)
	for _, p := range gone {
		s.Removed = append(s.Removed, p.ID)
	}
	s.Changed = true
	return gone
}

// Rename names class i (spaces around it trimmed, at most MaxNameRunes
// characters). An empty or repeated name is refused by Train.
func (s *State) Rename(i int, name string) {
	if i < 0 || i >= len(s.Classes) {
		return
	}
	name = strings.Join(strings.Fields(name), " ")
	if r := []rune(name); len(r) > MaxNameRunes {
		name = string(r[:MaxNameRunes])
	}
	if s.Classes[i].Name != name {
		s.Classes[i].Name = name
		s.Changed = true
	}
}

// classNamed returns the index of the class named name (case and spaces
// aside), or -1.
func (s *State) classNamed(name string) int {
	key := nameKey(name)
	return slices.IndexFunc(s.Classes, func(c *Class) bool { return nameKey(c.Name) == key })
}

func nameKey(name string) string { return strings.ToLower(strings.Join(strings.Fields(name), " ")) }

// Add lists a photo dropped into class i and returns it: PhotoQueued, for
// the caller to post to the worker, or PhotoError when the file is empty
// or too large, or the class is full. It returns nil for a class that is
// not there.
func (s *State) Add(i int, name string, size int64) *Photo {
	if i < 0 || i >= len(s.Classes) {
		return nil
	}
	c := s.Classes[i]
	p := &Photo{ID: s.nextID, Name: name, Size: size, State: PhotoQueued}
	s.nextID++
	if p.Name == "" {
		p.Name = "photo " + strconv.FormatInt(p.ID, 10)
	}
	switch {
	case size == 0:
		p.State, p.Err = PhotoError, "The file is empty (0 bytes)."
	case size > MaxFileBytes:
		p.State, p.Err = PhotoError, "The file is too large: "+dash.Bytes(size)+"; the limit is "+dash.Bytes(MaxFileBytes)+"."
	case c.usable()+c.count(PhotoQueued) >= MaxPhotos:
		p.State, p.Err = PhotoError, "The class is full: a class holds at most "+strconv.Itoa(MaxPhotos)+" photos."
	}
	c.Photos = append(c.Photos, p)
	s.Changed = true
	return p
}

// Photo returns the photo with that ID and its class's index, or nil, -1.
func (s *State) Photo(id int64) (*Photo, int) {
	for i, c := range s.Classes {
		for _, p := range c.Photos {
			if p.ID == id {
				return p, i
			}
		}
	}
	return nil, -1
}

// RemovePhoto removes a photo and returns it (nil when it is not listed).
func (s *State) RemovePhoto(id int64) *Photo {
	p, i := s.Photo(id)
	if p == nil || s.Training {
		return nil
	}
	c := s.Classes[i]
	c.Photos = slices.DeleteFunc(c.Photos, func(q *Photo) bool { return q == p })
	s.Removed = append(s.Removed, id)
	s.Changed = true
	return p
}

func (c *Class) count(state string) int {
	n := 0
	for _, p := range c.Photos {
		if p.State == state {
			n++
		}
	}
	return n
}

func (c *Class) usable() int { return c.count(PhotoReady) + c.count(PhotoKept) }

// Pending counts the photos whose features are being computed.
func (s *State) Pending() int {
	n := 0
	for _, c := range s.Classes {
		n += c.count(PhotoQueued)
	}
	return n
}

// Usable counts the photos there are features of.
func (s *State) Usable() int {
	n := 0
	for _, c := range s.Classes {
		n += c.usable()
	}
	return n
}

// Check says what keeps Train from running ("" when nothing): a class
// without a name or with another's, photos still being read, a class
// without a usable photo.
func (s *State) Check() string {
	switch {
	case s.Training:
		return "A head is being taught."
	case !s.Restored:
		return "Wait for the classifier to start."
	}
	seen := map[string]int{}
	for i, c := range s.Classes {
		key := nameKey(c.Name)
		if key == "" {
			return "Class " + strconv.Itoa(i+1) + " has no name: name it."
		}
		if j, ok := seen[key]; ok {
			return "Classes " + strconv.Itoa(j+1) + " and " + strconv.Itoa(i+1) + " are both named “" + c.Name + "”: rename one."
		}
		seen[key] = i
	}
	if n := s.Pending(); n > 0 {
		return "Wait for " + plural(n, "photo") + " to be read."
	}
	var empty []string
	for _, c := range s.Classes {
		if c.usable() == 0 {
			empty = append(empty, "“"+c.Name+"”")
		}
	}
	if len(empty) == 0 {
		return ""
	}
	total := s.Usable()
	what := "Class " + empty[0] + " has no photos"
	if len(empty) > 1 {
		what = "Classes " + strings.Join(empty[:len(empty)-1], ", ") + " and " + empty[len(empty)-1] + " have no photos"
	}
	return what + ": teaching needs at least one photo in every class (" + strconv.Itoa(len(s.Classes)) +
		" classes, " + plural(total, "photo") + " in all). Drop some, or remove the class."
}

// Set is the panel's classes and usable photos as the page sends them to
// the worker ("teachSet"); removed are the photos removed since the last
// one. It clears Changed and Removed.
func (s *State) Set() (classes []string, photos []protocol.PhotoRef, removed []int64) {
	classes, photos = s.labelled(true)
	removed = s.Removed
	s.Changed, s.Removed = false, nil
	return classes, photos, removed
}

// labelled lists the class names and the usable photos with their labels.
func (s *State) labelled(names bool) ([]string, []protocol.PhotoRef) {
	classes := make([]string, len(s.Classes))
	photos := []protocol.PhotoRef{}
	for i, c := range s.Classes {
		classes[i] = c.Name
		for _, p := range c.Photos {
			if p.Usable() {
				r := protocol.PhotoRef{ID: p.ID, Label: i}
				if names {
					r.Name = p.Name
				}
				photos = append(photos, r)
			}
		}
	}
	return classes, photos
}

// StartTraining starts a fit and returns what the "teach" message names:
// the classes and the usable photos with their labels. ok is false, and
// Message says why, when Check finds something missing; nothing is lost.
func (s *State) StartTraining() (classes []string, photos []protocol.PhotoRef, ok bool) {
	if msg := s.Check(); msg != "" {
		s.Message = msg
		return nil, nil, false
	}
	classes, photos = s.labelled(false)
	s.Training, s.Message, s.Losses, s.Stage, s.Done, s.Total = true, "", nil, "", 0, 0
	return classes, photos, true
}

// Apply folds one worker reply into the state. Replies about a photo no
// longer listed change nothing (a "teachQueued" URL for one goes to
// Unused).
func (s *State) Apply(r protocol.TeachReply) {
	switch r.Type {
	case protocol.TypeTeachState:
		s.restore(r)
	case protocol.TypeTeachQueued:
		for id, url := range r.URLs {
			n, err := strconv.ParseInt(id, 10, 64)
			if p, _ := s.Photo(n); err == nil && p != nil && p.URL == "" && p.State != PhotoError {
				p.URL = url
			} else {
				s.Unused = append(s.Unused, url)
			}
		}
	case protocol.TypeTeachPhoto:
		p, _ := s.Photo(r.ID)
		if p == nil || p.State != PhotoQueued {
			return
		}
		if r.Error != "" {
			p.State, p.Err = PhotoError, sentence(r.Error)
		} else {
			p.State = PhotoReady
		}
		s.Changed = true
	case protocol.TypeTeachStale:
		for _, id := range r.IDs {
			if p, _ := s.Photo(id); p != nil && p.Usable() {
				p.State, p.Err = PhotoError, sentence(r.Message)
				s.Changed = true
			}
		}
	case protocol.TypeTeachProgress:
		if !s.Training {
			return
		}
		s.Stage, s.Done, s.Total = r.Stage, r.Done, r.Total
		if r.Stage == "final" && r.Iter > len(s.Losses) {
			s.Losses = append(s.Losses, r.Loss)
		}
	case protocol.TypeTaught:
		s.Training = false
		if r.Error != "" {
			s.Message = "The head could not be taught: " + lowerFirst(sentence(r.Error))
			return
		}
		s.Message = ""
		s.setReport(r.Report)
		if r.Losses != nil {
			s.Losses = r.Losses
		}
		s.TrainMs, s.HasHead = r.Ms, true
		s.Fits++
	case protocol.TypeTeachHead:
		s.HasHead, s.Active, s.HeadClasses, s.HeadErr = r.Has, r.Active, r.Classes, ""
		if r.Error != "" {
			s.HeadErr = sentence(r.Error)
		}
		if !r.Has {
			s.Report = nil
		} else if r.Report != "" {
			s.setReport(r.Report)
		}
	}
}

// restore applies what the browser kept: the classes and photos replace
// an untouched panel, or are merged into the user's classes by name; the
// head's report and losses are shown.
func (s *State) restore(r protocol.TeachReply) {
	if s.Restored {
		return
	}
	s.Restored, s.Changed = true, true
	if r.Head != nil {
		s.HasHead, s.Active = true, r.Head.Active
		s.setReport(r.Head.Report)
		s.Losses = r.Head.Losses
	}
	if r.Classes == nil {
		return
	}
	if s.pristine() && len(r.Classes) >= 2 {
		s.Classes = nil
		for _, name := range r.Classes {
			s.Classes = append(s.Classes, &Class{Name: name})
		}
	}
	for _, ref := range r.Photos {
		if ref.Label < 0 || ref.Label >= len(r.Classes) {
			s.Removed = append(s.Removed, ref.ID)
			continue
		}
		name := r.Classes[ref.Label]
		i := s.classNamed(name)
		if i < 0 && len(s.Classes) < MaxClasses {
			s.Classes = append(s.Classes, &Class{Name: name})
			i = len(s.Classes) - 1
		}
		if i < 0 || len(s.Classes[i].Photos) >= MaxPhotos {
			s.Removed = append(s.Removed, ref.ID)
			continue
		}
		p := &Photo{ID: ref.ID, Name: ref.Name, State: PhotoKept}
		if ref.Stale != "" {
			p.State, p.Err = PhotoError, sentence(ref.Stale)
		}
		s.Classes[i].Photos = append(s.Classes[i].Photos, p)
		s.nextID = max(s.nextID, ref.ID+1)
	}
}

func (s *State) setReport(js string) {
	var rep Report
	if json.Unmarshal([]byte(js), &rep) == nil {
		s.Report = &rep
	}
}

// Forget empties the panel after the page asked the worker to forget
// everything it kept: the classes "cat" and "dog", no photos, no head. It
// returns the photos removed.
func (s *State) Forget() []*Photo {
	var gone []*Photo
	for _, c := range s.Classes {
		gone = append(gone, c.Photos...)
	}
	s.Classes = []*Class{{Name: "cat"}, {Name: "dog"}}
	s.HasHead, s.Report, s.Active, s.HeadClasses, s.HeadErr = false, nil, false, nil, ""
	s.Losses, s.Message, s.Stage, s.Done, s.Total, s.TrainMs = nil, "", "", 0, 0, 0
	s.Removed, s.Changed = nil, false
	return gone
}

// StartExport marks the taught weights file as being written, and
// reports whether there is a head to write.
func (s *State) StartExport() bool {
	if !s.HasHead {
		s.ExportErr = "Teach a head first."
		return false
	}
	s.Exporting, s.ExportErr = true, ""
	return true
}

// Exported keeps the written file's object URL, name and size, and returns
// the URL of the one before (for the page to revoke; "" for none).
func (s *State) Exported(url, name string, size int64) (old string) {
	old = s.ExportURL
	s.Exporting, s.ExportErr, s.ExportURL, s.ExportName, s.ExportBytes = false, "", url, name, size
	return old
}

// ExportFailed says why the file could not be written.
func (s *State) ExportFailed(err string) {
	s.Exporting, s.ExportErr = false, "The taught weights could not be written: "+lowerFirst(sentence(err))
}

// ExportText describes the last file written, e.g. "live-taught.safetensors
// · 550.3 kB".
func (s *State) ExportText() string {
	if s.ExportURL == "" {
		return ""
	}
	return s.ExportName + " · " + dash.Bytes(s.ExportBytes)
}

// sentence capitalizes a message and ends it with a period.
func sentence(s string) string {
	if s == "" {
		return s
	}
	if c := s[0]; c >= 'a' && c <= 'z' {
		s = string(c-'a'+'A') + s[1:]
	}
	if last := s[len(s)-1]; last != '.' && last != '!' && last != '?' {
		s += "."
	}
	return s
}

// lowerFirst lowers a sentence's first letter.
func lowerFirst(s string) string {
	if s != "" && s[0] >= 'A' && s[0] <= 'Z' {
		return string(s[0]-'A'+'a') + s[1:]
	}
	return s
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}
