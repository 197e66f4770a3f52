// Package hub fetches published pretrained weights by name, the way
// torchvision's model zoo does (torch.hub.load_state_dict_from_url): the
// name "torchvision:alexnet" stands for torchvision's file
// alexnet-owt-7be5be79.pth at https://download.pytorch.org/models/, whose
// name carries the first 8 hex digits of its SHA-256. The file is
// downloaded once into a cache folder, its hash prefix checked before it
// is used, and kept there.
//
// Unlike torch.hub, a download resumes where an interrupted one stopped
// (an HTTP Range request on the NAME.part file beside the cached one), and
// a server that sends nothing for IdleTimeout ends it with an error
// instead of a hang.
//
// The environment sets the defaults (see Default):
//
//   - PAWNET_WEIGHTS_DIR: the cache folder (else $PAWNET_CACHE/weights,
//     else the user cache folder's pawnet/weights);
//   - PAWNET_WEIGHTS_URL: the address the files are fetched from (a
//     mirror, or a test server), instead of DefaultBaseURL.
package hub

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pawnet/pawnet/trainer/fsutil"
	"github.com/pawnet/pawnet/trainer/progress"
)

// Prefix marks a weights name, as in `pawnet train -init torchvision:alexnet`.
const Prefix = "torchvision:"

// DefaultBaseURL is where torchvision publishes its weights files.
const DefaultBaseURL = "https://download.pytorch.org/models/"

// DefaultIdleTimeout is how long a download waits for the server's next
// byte (or its response headers) before it gives up.
const DefaultIdleTimeout = 30 * time.Second

// Environment variables read by Default.
const (
	EnvDir = "PAWNET_WEIGHTS_DIR" // the cache folder
	EnvURL = "PAWNET_WEIGHTS_URL" // the base address of the files
)

// Torchvision maps the names pawnet can start from to the files
// torchvision publishes for them (torchvision/models/alexnet.py,
// AlexNet_Weights.IMAGENET1K_V1). Each file name is NAME-HASH.pth where
// HASH is the first 8 hex digits of the file's SHA-256.
var Torchvision = map[string]string{
	"alexnet": "alexnet-owt-7be5be79.pth",
}

// hashRE finds the hash prefix in a file name as torchvision's HASH_REGEX
// does (r"-([a-f0-9]*)\."), though requiring at least 8 digits.
var hashRE = regexp.MustCompile(`-([a-f0-9]{8,64})\.`)

// HashPrefix returns the SHA-256 prefix a published file name carries
// ("7be5be79" for "alexnet-owt-7be5be79.pth"): the hex digits between the
// last "-" before the extension and the extension, as torchvision reads
// them.
func HashPrefix(file string) (string, error) {
	m := hashRE.FindAllStringSubmatch(file, -1)
	if len(m) == 0 {
		return "", fmt.Errorf("weights file name %q carries no SHA-256 prefix (want NAME-HASH.pth with HASH at least 8 lowercase hex digits)", file)
	}
	return m[len(m)-1][1], nil
}

// IsName reports whether spec is a weights name ("torchvision:alexnet")
// rather than a file path.
func IsName(spec string) bool { return strings.HasPrefix(spec, Prefix) }

// Hub fetches named weights into a cache folder. Its zero fields take
// the defaults noted beside them.
type Hub struct {
	// Dir is the cache folder; it is made when needed.
	Dir string
	// BaseURL is the address the file names are appended to ("": DefaultBaseURL).
	BaseURL string
	// Files maps names to published file names (nil: Torchvision).
	Files map[string]string
	// IdleTimeout ends a download that receives nothing for this long,
	// headers or body (0: DefaultIdleTimeout).
	IdleTimeout time.Duration
	// Client makes the requests (nil: http.DefaultClient).
	Client *http.Client
	// Log receives the progress bar and what is done (nil: io.Discard).
	Log io.Writer
}

// Default returns a Hub whose folder and address come from the
// environment (EnvDir, EnvURL; see DefaultDir) and whose progress goes to
// log.
func Default(log io.Writer) *Hub {
	return &Hub{Dir: DefaultDir(), BaseURL: os.Getenv(EnvURL), Log: log}
}

// DefaultDir is the cache folder of Default: $PAWNET_WEIGHTS_DIR, else
// $PAWNET_CACHE/weights (the folder the sample is cached in), else the
// user cache folder's pawnet/weights (~/.cache/pawnet/weights on Linux).
func DefaultDir() string {
	if d := os.Getenv(EnvDir); d != "" {
		return d
	}
	if d := os.Getenv("PAWNET_CACHE"); d != "" {
		return filepath.Join(d, "weights")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "pawnet", "weights")
	}
	return filepath.Join(os.TempDir(), "pawnet-cache", "weights")
}

// Resolve returns the path of the weights spec names: spec itself when it
// is not a name (IsName), else the cached file of the name, fetched and
// checked first if it is not in the cache yet.
func (h *Hub) Resolve(ctx context.Context, spec string) (string, error) {
	if !IsName(spec) {
		return spec, nil
	}
	return h.Fetch(ctx, strings.TrimPrefix(spec, Prefix))
}

// Fetch returns the path of the named weights in the cache folder. A file
// already there is checked against its hash prefix and used; otherwise it
// is downloaded into NAME.part (resuming a .part left by an interrupted
// download), checked, and renamed into place. A file that fails the check
// is deleted, and the error says so.
func (h *Hub) Fetch(ctx context.Context, name string) (string, error) {
	files := h.Files
	if files == nil {
		files = Torchvision
	}
	file, ok := files[name]
	if !ok {
		return "", fmt.Errorf("unknown weights %s%s (known: %s%s); or pass the path of a .pth or safetensors file",
			Prefix, name, Prefix, strings.Join(slices.Sorted(maps.Keys(files)), ", "+Prefix))
	}
	want, err := HashPrefix(file)
	if err != nil {
		return "", err
	}
	if h.Dir == "" {
		return "", errors.New("hub: no cache folder")
	}
	dest := filepath.Join(h.Dir, file)
	url := strings.TrimSuffix(h.baseURL(), "/") + "/" + file
	if _, err := os.Stat(dest); err == nil {
		if got, err := hashFile(dest); err != nil {
			return "", err
		} else if !strings.HasPrefix(got, want) {
			return "", fmt.Errorf("%s is in the weights cache but its SHA-256 is %s, not %s…: it is not %s; delete it to download it again", dest, got, want, url)
		}
		fmt.Fprintf(h.log(), "weights: %s (cached; SHA-256 %s… checked)\n", dest, want)
		return dest, nil
	} else if !errors.Is(err, os.ErrNotExist) {
		return "", err
	}
	if err := os.MkdirAll(h.Dir, 0o755); err != nil {
		return "", fmt.Errorf("weights cache: %w (%s sets another folder)", err, EnvDir)
	}
	part := dest + ".part"
	if err := h.download(ctx, url, part, file); err != nil {
		if st, serr := os.Stat(part); serr == nil && st.Size() == 0 {
			os.Remove(part) // nothing arrived: nothing to resume
		}
		var pe *fs.PathError
		if ctx.Err() == nil && !errors.As(err, &pe) { // not Ctrl-C, not the disk
			return "", fmt.Errorf("%w\n%s", err, byHand(url, dest))
		}
		return "", err
	}
	got, err := hashFile(part)
	if err != nil {
		return "", err
	}
	if !strings.HasPrefix(got, want) {
		os.Remove(part)
		return "", fmt.Errorf("%s: downloaded file's SHA-256 is %s, not %s… as its name says; deleted %s (run again to download it anew)", url, got, want, part)
	}
	if err := fsutil.RenameSync(part, dest); err != nil {
		return "", err
	}
	fmt.Fprintf(h.log(), "weights: %s (downloaded; SHA-256 %s… checked)\n", dest, want)
	return dest, nil
}

// byHand says how to place a file in the cache without pawnet's download.
func byHand(url, dest string) string {
	return fmt.Sprintf("To place the file by hand, download %s on a machine that can reach it and copy it to %s "+
		"(or pass its path to -init); %s sets a mirror to fetch from and %s the cache folder.", url, dest, EnvURL, EnvDir)
}

func (h *Hub) baseURL() string {
	if h.BaseURL != "" {
		return h.BaseURL
	}
	return DefaultBaseURL
}

func (h *Hub) log() io.Writer {
	if h.Log != nil {
		return h.Log
	}
	return io.Discard
}

// maxAttempts bounds the requests of one download whose connection is
// cut part way.
const maxAttempts = 5

// download fills part with url's content, resuming from part's length.
// A connection cut in the middle is resumed at once, up to maxAttempts
// requests in all, as long as each brings bytes; a stall or an HTTP error
// ends it, part kept.
func (h *Hub) download(ctx context.Context, url, part, what string) error {
	for attempt := 1; ; attempt++ {
		got, err := h.get(ctx, url, part, what)
		if err == nil {
			return nil
		}
		var stall *stallError
		var he *httpError
		if got == 0 || attempt == maxAttempts || ctx.Err() != nil || errors.As(err, &stall) || errors.As(err, &he) {
			return err
		}
		fmt.Fprintf(h.log(), "%v; resuming\n", err)
	}
}

// httpError is a response the download cannot use.
type httpError struct {
	url    string
	status string
}

func (e *httpError) Error() string {
	return fmt.Sprintf("download %s: the server answered %s", e.url, e.status)
}

// stallError is a server that sent nothing for the idle timeout.
type stallError struct {
	url  string
	idle time.Duration
	part string // where what arrived is kept ("": nothing arrived)
}

func (e *stallError) Error() string {
	if e.part == "" {
		return fmt.Sprintf("download %s: no response for %s, giving up", e.url, e.idle)
	}
	return fmt.Sprintf("download %s: no data for %s, giving up (what arrived is kept in %s; run again to resume)", e.url, e.idle, e.part)
}

// get makes one request for the rest of part and appends the response
// to it; it returns how many bytes it appended.
func (h *Hub) get(ctx context.Context, url, part, what string) (int64, error) {
	f, err := os.OpenFile(part, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	off, err := f.Seek(0, io.SeekEnd)
	if err != nil {
		return 0, err
	}

	idle := h.IdleTimeout
	if idle <= 0 {
		idle = DefaultIdleTimeout
	}
	stalled := &stallError{url: url, idle: idle}
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	timer := time.AfterFunc(idle, func() { cancel(stalled) })
	defer timer.Stop()
	fail := func(err error, have int64) error {
		if c := context.Cause(ctx); errors.Is(c, stalled) {
			if have > 0 {
				stalled.part = part
			}
			return stalled
		}
		return err
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	if off > 0 {
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-", off))
	}
	client := h.Client
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, fail(fmt.Errorf("download %s: %w", url, err), off)
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusOK:
		// The whole file: a first request, or a server that ignores Range.
		if off > 0 {
			fmt.Fprintf(h.log(), "%s: the server sent the whole file instead of the rest; starting over\n", what)
		}
		if err := f.Truncate(0); err != nil {
			return 0, err
		}
		if off, err = f.Seek(0, io.SeekStart); err != nil {
			return 0, err
		}
	case resp.StatusCode == http.StatusPartialContent && off > 0:
		if start, ok := rangeStart(resp.Header.Get("Content-Range")); !ok || start != off {
			return 0, &httpError{url, fmt.Sprintf("%s with Content-Range %q to a request from byte %d", resp.Status, resp.Header.Get("Content-Range"), off)}
		}
		fmt.Fprintf(h.log(), "%s: resuming after %d bytes\n", what, off)
	case resp.StatusCode == http.StatusRequestedRangeNotSatisfiable && off > 0:
		return 0, nil // part is whole already; the hash check decides
	default:
		return 0, &httpError{url, resp.Status}
	}

	var bar *progress.Bar
	if resp.ContentLength > 0 {
		bar = progress.New(h.log(), int((off+resp.ContentLength+1023)/1024), "download "+what, "KiB")
		bar.Set(int(off / 1024))
		defer bar.Finish()
	}
	buf := make([]byte, 256<<10)
	var n int64
	for {
		k, rerr := resp.Body.Read(buf)
		if k > 0 {
			timer.Reset(idle)
			if _, err := f.Write(buf[:k]); err != nil {
				return n, err
			}
			n += int64(k)
			if bar != nil {
				bar.Set(int((off + n + 1023) / 1024)) // whole KiB, the last one partial
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			return n, fail(fmt.Errorf("download %s: cut after %d bytes: %w", url, off+n, rerr), off+n)
		}
	}
	if err := f.Sync(); err != nil {
		return n, err
	}
	return n, f.Close()
}

// rangeStart parses the first byte of a Content-Range "bytes A-B/N".
func rangeStart(cr string) (int64, bool) {
	s, ok := strings.CutPrefix(cr, "bytes ")
	if !ok {
		return 0, false
	}
	a, _, ok := strings.Cut(s, "-")
	if !ok {
		return 0, false
	}
	v, err := strconv.ParseInt(a, 10, 64)
	return v, err == nil
}

// hashFile returns a file's SHA-256 in hex.
func hashFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
