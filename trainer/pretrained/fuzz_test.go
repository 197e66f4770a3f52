package pretrained

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pawnet/pawnet/shared/alexnet"
)

// FuzzRead gives Read arbitrary bytes, seeded with the zip and safetensors
// fixtures and cut copies of them: it must return tensors or an error,
// never panic, and what it returns must match or be refused by Match
// without panicking. The legacy fixture is left out: a length field
// damaged in its pickle makes gopickle allocate that many bytes (up to
// 4 GB, untouched, so a single Read fails at once with "unexpected EOF"),
// which repeated thousands of times a second exhausts a fuzzing worker's
// memory. A zip's pickle is only unpickled once its CRC-32 checks out.
func FuzzRead(f *testing.F) {
	for _, p := range []string{fixtureZip, fixtureSafe} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		f.Add(data[:len(data)/2])
		f.Add(data[:min(len(data), 4096)])
	}
	f.Add([]byte("PK\x03\x04"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(dir, "w.pth")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		file, err := Read(path)
		if err != nil {
			return
		}
		for name, tensor := range file.Tensors {
			n := 1
			for _, d := range tensor.Shape {
				n *= d
			}
			if n != len(tensor.Data) {
				t.Fatalf("%s: %d values for shape %v", name, len(tensor.Data), tensor.Shape)
			}
		}
		_, _ = file.Match(alexnet.TorchvisionTiny())
	})
}
