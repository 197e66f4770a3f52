package model

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// TestCheckCheckpoint damages a saved checkpoint file in each way a disk
// or a kill can and checks that CheckCheckpoint refuses it with the
// reason, as Restore would, and passes the intact file.
func TestCheckCheckpoint(t *testing.T) {
	cfg := alexnet.Small()
	dir := t.TempDir()
	if err := newModel(t, cfg, 1, Options{}).Save(dir); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, CheckpointFile)
	good, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	other := cfg
	other.Dense = 128
	for _, tc := range []struct {
		name string
		data func() []byte // nil: the file is removed
		cfg  alexnet.Config
		want string // "" = intact
	}{
		{"intact", func() []byte { return good }, cfg, ""},
		{"a bit flipped in the last tensor", func() []byte {
			d := append([]byte(nil), good...)
			d[len(d)-3] ^= 0x40
			return d
		}, cfg, "checksum mismatch"},
		{"truncated", func() []byte { return good[:len(good)/2] }, cfg, "truncated"},
		{"a byte appended", func() []byte { return append(append([]byte(nil), good...), 0) }, cfg, "truncated"},
		{"empty", func() []byte { return []byte{} }, cfg, "not a pawnet checkpoint"},
		{"missing", nil, cfg, "no such file"},
		{"another config", func() []byte { return good }, other, "checkpoint is for config"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.data == nil {
				os.Remove(file)
			} else if err := os.WriteFile(file, tc.data(), 0o644); err != nil {
				t.Fatal(err)
			}
			err := CheckCheckpoint(dir, tc.cfg)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("intact checkpoint refused: %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("got %v, want an error about %q", err, tc.want)
			}
		})
	}
}
